import { k8s } from 'cdk8s-plus-32';

/**
 * Pod Security "restricted" for a container: non-root, no privilege escalation, every
 * capability dropped, the runtime's seccomp profile. Set on the container itself so it also
 * holds inside Knative Services, whose pod-level securityContext is behind a feature flag.
 */
export interface RestrictedSecurityContext {
  readonly runAsNonRoot: true;
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly allowPrivilegeEscalation: false;
  readonly readOnlyRootFilesystem: boolean;
  readonly capabilities: { drop: string[] };
  readonly seccompProfile: { type: 'RuntimeDefault' };
}

export function restrictedContainer(uid: number, opts: { readOnlyRootFilesystem: boolean }): RestrictedSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    // `privileged` stays unset (false): Knative refuses the field in a Service's container.
    readOnlyRootFilesystem: opts.readOnlyRootFilesystem,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The pod-level half, for the workloads we write as plain pod templates. */
export function restrictedPod(uid: number): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Kubernetes quantities from MiB and millicores, written the way kubectl shows them. */
export const mi = (mib: number) => k8s.Quantity.fromString(`${mib}Mi`);
export const milli = (m: number) => k8s.Quantity.fromString(m % 1000 === 0 ? `${m / 1000}` : `${m}m`);
export const gi = (g: number) => k8s.Quantity.fromString(`${g}Gi`);
