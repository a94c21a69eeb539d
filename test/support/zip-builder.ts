/**
 * Test helper: builds zip files with yazl, and patches them at byte level for cases yazl
 * refuses to write (raw non-UTF-8 names, `..` names, names without the UTF-8 flag).
 */
import { PassThrough } from 'node:stream';
import { buffer as collect } from 'node:stream/consumers';
import yazl from 'yazl';

export interface ZipItem {
  /** A string is written as yazl writes it; a Buffer is written as these exact name bytes. */
  name: string | Buffer;
  data?: string | Buffer;
  compress?: boolean;
  mode?: number;
  directory?: boolean;
}

export interface BuildOptions {
  /** Clear general-purpose bit 11 (names are UTF-8) in every header, as Slack's exports do. */
  clearUtf8Flag?: boolean;
  zip64?: boolean;
}

export async function buildZip(items: ZipItem[], opts: BuildOptions = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const placeholders = new Map<string, Buffer>();
  items.forEach((item, i) => {
    let name: string;
    if (typeof item.name === 'string') {
      name = item.name;
    } else {
      const tag = `~${i}~`;
      if (item.name.length < tag.length) throw new Error('raw name too short for a placeholder');
      name = tag.padEnd(item.name.length, 'x');
      placeholders.set(name, item.name);
    }
    if (item.directory === true) {
      zip.addEmptyDirectory(name);
      return;
    }
    const data =
      typeof item.data === 'string' ? Buffer.from(item.data) : (item.data ?? Buffer.alloc(0));
    zip.addBuffer(data, name, {
      compress: item.compress ?? true,
      forceZip64Format: opts.zip64 ?? false,
      ...(item.mode === undefined ? {} : { mode: item.mode }),
    });
  });
  const out = new PassThrough();
  zip.outputStream.pipe(out);
  zip.end({ forceZip64Format: opts.zip64 ?? false, comment: '' });
  const buf = await collect(out);

  if (placeholders.size > 0 || opts.clearUtf8Flag === true) {
    for (const rec of centralDirectory(buf)) {
      const raw = placeholders.get(rec.name.toString('latin1'));
      if (raw !== undefined) {
        raw.copy(buf, rec.cdOffset + 46);
        raw.copy(buf, rec.localOffset + 30);
      }
      if (opts.clearUtf8Flag === true) {
        buf.writeUInt16LE(buf.readUInt16LE(rec.cdOffset + 8) & ~0x800, rec.cdOffset + 8);
        buf.writeUInt16LE(buf.readUInt16LE(rec.localOffset + 6) & ~0x800, rec.localOffset + 6);
      }
    }
  }
  return buf;
}

export interface RawRecord {
  cdOffset: number;
  localOffset: number;
  name: Buffer;
  flags: number;
  compressedSize: number;
  dataStart: number;
}

/** Walks the central directory of a (non-ZIP64) zip. */
export function centralDirectory(buf: Buffer): RawRecord[] {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('no end of central directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const records: RawRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central header at ${p}`);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const localNameLength = buf.readUInt16LE(localOffset + 26);
    const localExtraLength = buf.readUInt16LE(localOffset + 28);
    records.push({
      cdOffset: p,
      localOffset,
      name: buf.subarray(p + 46, p + 46 + nameLength),
      flags: buf.readUInt16LE(p + 8),
      compressedSize: buf.readUInt32LE(p + 20),
      dataStart: localOffset + 30 + localNameLength + localExtraLength,
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return records;
}
