/**
 * A tiny XML writer for ClickHouse's configuration files: elements from nested objects, so the
 * settings are data (tested as data) and the file is always well formed.
 */

export type XmlValue = string | number | boolean | XmlNode | XmlValue[];
export interface XmlNode {
  readonly [tag: string]: XmlValue | undefined;
}

/** Attributes go in `@attrs`; an element with only attributes is written self-closing. */
export const ATTRS = '@attrs';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function element(tag: string, value: XmlValue, indent: string): string {
  if (Array.isArray(value)) return value.map((v) => element(tag, v, indent)).join('');
  if (typeof value !== 'object') return `${indent}<${tag}>${esc(String(value))}</${tag}>\n`;
  const attrs = (value[ATTRS] ?? {}) as Record<string, string>;
  const attrText = Object.entries(attrs).map(([k, v]) => ` ${k}="${esc(String(v))}"`).join('');
  const children = Object.entries(value).filter(([k, v]) => k !== ATTRS && v !== undefined);
  if (children.length === 0) return `${indent}<${tag}${attrText}/>\n`;
  const body = children.map(([k, v]) => element(k, v as XmlValue, `${indent}  `)).join('');
  return `${indent}<${tag}${attrText}>\n${body}${indent}</${tag}>\n`;
}

export function toXml(root: string, value: XmlNode, comment?: string): string {
  const head = comment ? `<!-- ${comment.replace(/--/g, '- -')} -->\n` : '';
  return `${head}${element(root, value, '')}`;
}
