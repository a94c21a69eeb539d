/**
 * Streams the records of a YAML export. PyYAML (`yaml.dump(list, default_flow_style=None)`)
 * writes the list as a block sequence whose items start with `- ` in column 0, and everything
 * inside an item is indented; so the file is cut into items line by line and each item is
 * parsed on its own. Memory is bounded by one record.
 *
 * Limit: a YAML file that is not a top-level block sequence (e.g. one flow list `[...]`, or a
 * hand-written file with column-0 continuation lines) is rejected rather than parsed whole.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseDocument, type Tags } from 'yaml';
import { FerryError } from '../../errors.js';
import type { InputRecord } from './json-records.js';

const ITEM_START = /^-(?:[ \t]|$)/;
const DOCUMENT_MARK = /^(?:---|\.\.\.)(?:\s|$)/;

/**
 * PyYAML writes YAML 1.1. Timestamps are left as strings: matrix-archive's are naive and the
 * adapter resolves them in the configured zone (PyYAML quotes them anyway).
 */
const withoutTimestamps = (tags: Tags): Tags =>
  tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp');

export async function* yamlRecords(path: string, label: string): AsyncGenerator<InputRecord> {
  const file = createReadStream(path, { encoding: 'utf8' });
  let bytesRead = 0;
  file.on('data', (chunk) => {
    bytesRead += Buffer.byteLength(chunk);
  });
  const lines = createInterface({ input: file, crlfDelay: Infinity });
  let item: string[] = [];
  let itemLine = 0;
  let lineNo = 0;
  let index = 0;
  const parseItem = (): unknown => {
    const doc = parseDocument(item.join('\n'), {
      version: '1.1',
      customTags: withoutTimestamps,
      prettyErrors: false,
    });
    const [error] = doc.errors;
    if (error !== undefined) {
      const line = itemLine + (error.linePos?.[0].line ?? 1) - 1;
      throw new FerryError(
        'input_invalid',
        `${label} is not valid YAML (line ${line}: ${error.message.split('\n')[0] ?? ''})`,
        { cause: error },
      );
    }
    const value: unknown = doc.toJS();
    return Array.isArray(value) ? value[0] : undefined;
  };
  try {
    for await (const raw of lines) {
      lineNo += 1;
      const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (ITEM_START.test(line)) {
        if (item.length > 0) yield { value: parseItem(), index: index++, bytesRead };
        item = [line];
        itemLine = lineNo;
      } else if (DOCUMENT_MARK.test(line)) {
        if (item.length > 0) yield { value: parseItem(), index: index++, bytesRead };
        item = [];
      } else if (item.length > 0) {
        item.push(line);
      } else if (line.trim() !== '' && !line.startsWith('#') && !line.startsWith('%')) {
        throw new FerryError(
          'input_unsupported',
          `${label}: line ${lineNo} does not start a list item; expected a YAML list of records as matrix-archive's export_messages.py writes it (or JSON)`,
        );
      }
    }
    if (item.length > 0) yield { value: parseItem(), index: index++, bytesRead };
  } finally {
    lines.close();
    file.destroy();
  }
}
