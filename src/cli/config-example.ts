/**
 * Renders `config.example.yaml` from the config schema (descriptions and defaults), so the
 * example can never drift from what ferry accepts. A test compares the committed file with it.
 */
import { z } from 'zod';
import { configSchema } from './config.js';

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchemaNode>;
}

export function renderExampleConfig(): string {
  const root = z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchemaNode;
  const lines = [
    '# ferry configuration (generated from src/cli/config.ts by `npm run gen:config`; do not edit by hand).',
    '# Every key is optional. Command-line flags win over environment variables (DATABASE_URL),',
    '# which win over this file. Pass it with `ferry --config <file>`.',
    '',
  ];
  render(root, 0, lines);
  return `${lines.join('\n')}\n`;
}

function render(node: JsonSchemaNode, depth: number, lines: string[]): void {
  const indent = '  '.repeat(depth);
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (child.description !== undefined) lines.push(`${indent}# ${child.description}`);
    if (child.properties !== undefined) {
      lines.push(`${indent}${key}:`);
      render(child, depth + 1, lines);
      continue;
    }
    if (child.default === undefined) lines.push(`${indent}# ${key}:`);
    else lines.push(`${indent}${key}: ${JSON.stringify(child.default)}`);
  }
}
