/** The labels every object carries, and the selectors the policies and monitors rely on. */

export const PART_OF = 'speed-layer';

export type Component = 'function' | 'database' | 'database-admin' | 'eventing' | 'monitoring' | 'platform';

export function labels(name: string, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/** The labels that select a workload's pods (a subset of `labels`, stable across releases). */
export function selector(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': PART_OF };
}
