/**
 * YAML for subiquity, which reads with PyYAML (YAML 1.1): every string that 1.1
 * would read as a boolean, number, date or null is quoted.
 */
import { Document } from 'yaml';
import { GENERATED_MARK } from './templates.js';

export function emitYaml11(value: unknown, header: string[] = []): string {
  const doc = new Document(value, { version: '1.1' });
  const body = doc.toString({ directives: false, lineWidth: 0, indentSeq: true });
  return [`# ${GENERATED_MARK}`, ...header.map((h) => `# ${h}`), body].join('\n');
}
