/**
 * Just enough PNG decoding to tell a real screenshot from a blank one: 8-bit RGB or RGBA,
 * non-interlaced (what Chromium writes), with the five row filters undone.
 */
import { inflateSync } from 'node:zlib';

export interface DecodedPng {
  width: number;
  height: number;
  /** RGB(A) bytes, `channels` per pixel, row after row. */
  pixels: Buffer;
  channels: number;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function decodePng(png: Buffer): DecodedPng {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6))
        throw new Error(`unsupported PNG (depth ${depth}, colour ${colour})`);
      channels = colour === 2 ? 3 : 4;
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  return {
    width,
    height,
    channels,
    pixels: unfilter(inflateSync(Buffer.concat(idat)), width, height, channels),
  };
}

function unfilter(raw: Buffer, width: number, height: number, bpp: number): Buffer {
  const stride = width * bpp;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[row - stride + x]! : 0;
      const c = x >= bpp && y > 0 ? out[row - stride + x - bpp]! : 0;
      out[row + x] = (line[x]! + predict(filter, a, b, c)) & 0xff;
    }
  }
  return out;
}

function predict(filter: number | undefined, a: number, b: number, c: number): number {
  switch (filter) {
    case 0:
      return 0;
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return (a + b) >> 1;
    case 4: {
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
    case undefined:
    default:
      throw new Error(`bad PNG filter ${String(filter)}`);
  }
}

/** Distinct colours, and the share of pixels that differ from the most common one. */
export function pngStats(img: DecodedPng): { colours: number; nonBackground: number } {
  const counts = new Map<number, number>();
  for (let i = 0; i < img.pixels.length; i += img.channels) {
    const rgb = (img.pixels[i]! << 16) | (img.pixels[i + 1]! << 8) | img.pixels[i + 2]!;
    counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  const total = img.width * img.height;
  const background = Math.max(...counts.values());
  return { colours: counts.size, nonBackground: (total - background) / total };
}
