import { describe, expect, it } from 'vitest';
import {
  ElementAttachments,
  parseExportStamp,
  splitFileName,
  type AttachmentQuery,
} from '../../../src/sources/element/element-attachments.js';

const wall = (iso: string) => Date.parse(`${iso}Z`);

describe('Element attachment date stamps', () => {
  it('reads the numeric layouts browsers produce', () => {
    // en-US, 12 hours with Chrome's narrow no-break space: month first.
    expect(parseExportStamp('11-17-2022 at 4-58-32\u202fPM')?.candidates).toEqual([
      wall('2022-11-17T16:58:32'),
    ]);
    // en-GB: day first, 24 hours.
    expect(parseExportStamp('17-11-2022 at 16-58-32')?.candidates).toEqual([
      wall('2022-11-17T16:58:32'),
    ]);
    // Ambiguous day/month: both readings are candidates.
    expect(parseExportStamp('5-1-2024 at 12-14-00 PM')?.candidates).toEqual([
      wall('2024-05-01T12:14:00'),
      wall('2024-01-05T12:14:00'),
    ]);
    // German, translated "at".
    expect(parseExportStamp('17.11.2022 um 16-58-32')?.candidates).toEqual([
      wall('2022-11-17T16:58:32'),
    ]);
    // Year first (ja, sv…), and Korean with its meridiem before the time.
    expect(parseExportStamp('2022-11-17 16-58-32')?.candidates).toEqual([
      wall('2022-11-17T16:58:32'),
    ]);
    expect(parseExportStamp('2022. 11. 17. 오후 4-58-32')?.candidates).toEqual([
      wall('2022-11-17T16:58:32'),
    ]);
    // Midnight and noon in 12-hour clocks.
    expect(parseExportStamp('1-1-2022 at 12-00-05 AM')?.candidates).toEqual([
      wall('2022-01-01T00:00:05'),
    ]);
    expect(parseExportStamp('1-1-2022 at 12-00-05 p.m.')?.candidates).toEqual([
      wall('2022-01-01T12:00:05'),
    ]);
    // Arabic-Indic digits with bidi marks.
    expect(parseExportStamp('١٧\u200f-١١\u200f-٢٠٢٢ at ١٦-٥٨-٣٢')?.candidates).toEqual([
      wall('2022-11-17T16:58:32'),
    ]);
    // No seconds: minute precision.
    expect(parseExportStamp('17-11-2022 at 16-58')?.precision).toBe(60_000);
  });

  it('rejects what is not a stamp', () => {
    expect(parseExportStamp('extra-5-1-2024 at 12-14-00 PM')).toBeUndefined();
    expect(parseExportStamp('2-5-1-2024 at 12-14-00 PM')).toBeUndefined();
    expect(parseExportStamp('5-1-24 at 12-14-00')).toBeUndefined();
    expect(parseExportStamp('31-02-2024 at 10-00-00')).toBeUndefined();
    expect(parseExportStamp('1-1-2024 at 13-00-00 PM')).toBeUndefined();
  });

  it('splits names as Element does', () => {
    expect(splitFileName('archive.tar.gz')).toEqual(['archive.tar', '.gz']);
    expect(splitFileName('Voice message')).toEqual(['Voice message', '']);
    expect(splitFileName('.bashrc')).toEqual(['', '.bashrc']);
  });
});

describe('Element attachment matching', () => {
  // 2024-05-01T10:14:00.500Z
  const ts = Date.parse('2024-05-01T10:14:00.500Z');
  const q = (more: Partial<AttachmentQuery> = {}): AttachmentQuery => ({
    folder: 'images',
    body: 'image.png',
    ts,
    ...more,
  });

  it('finds the file at any plausible offset, under the export folder', () => {
    const at = (path: string, query = q()) => new ElementAttachments([path], 'root/').find(query);
    expect(at('root/images/image-5-1-2024 at 12-14-00 PM.png')).toBe(
      'root/images/image-5-1-2024 at 12-14-00 PM.png',
    );
    expect(at('root/images/image-1-5-2024 at 5-44-00 AM.png')).toBe(
      'root/images/image-1-5-2024 at 5-44-00 AM.png', // UTC-4:30, d/m order
    );
    // Wrong second, off the quarter-hour grid, too far, other folder, other root.
    expect(at('root/images/image-5-1-2024 at 12-14-01 PM.png')).toBeUndefined();
    expect(at('root/images/image-5-1-2024 at 12-20-00 PM.png')).toBeUndefined();
    expect(at('root/images/image-5-2-2024 at 12-14-00 PM.png')).toBeUndefined();
    expect(at('root/files/image-5-1-2024 at 12-14-00 PM.png')).toBeUndefined();
    expect(at('images/image-5-1-2024 at 12-14-00 PM.png')).toBeUndefined();
    // The extension must be the body's, or the forced one.
    expect(at('root/images/image-5-1-2024 at 12-14-00 PM.jpg')).toBeUndefined();
    expect(
      at(
        'root/stickers/image-5-1-2024 at 12-14-00 PM.png',
        q({ folder: 'stickers', body: 'image.gif', forcedExtension: '.png' }),
      ),
    ).toBe('root/stickers/image-5-1-2024 at 12-14-00 PM.png');
    // Matrix 1.10: the body is a caption; the file name is tried next.
    expect(
      at(
        'root/images/boat-5-1-2024 at 12-14-00 PM.png',
        q({ body: 'look!', filename: 'boat.png' }),
      ),
    ).toBe('root/images/boat-5-1-2024 at 12-14-00 PM.png');
  });

  it('prefers the offset most events agree on when several files fit', () => {
    const files = [
      'images/image-5-1-2024 at 12-14-00 PM.png',
      'images/image-5-1-2024 at 12-29-00 PM.png', // the same body, 15 minutes later
      'files/a-5-1-2024 at 12-00-00 PM.txt',
      'files/b-5-1-2024 at 1-00-00 PM.txt',
    ];
    const first = q();
    const second = q({ ts: ts + 15 * 60_000 });
    const others: AttachmentQuery[] = [
      { folder: 'files', body: 'a.txt', ts: Date.parse('2024-05-01T10:00:00Z') },
      { folder: 'files', body: 'b.txt', ts: Date.parse('2024-05-01T11:00:00Z') },
    ];
    const index = new ElementAttachments(files, '');
    for (const query of [first, second, ...others]) index.vote(query);
    expect(index.find(first)).toBe(files[0]);
    expect(index.find(second)).toBe(files[1]);

    // Without votes the smaller offset wins, which is wrong for the second image here.
    const unvoted = new ElementAttachments(files, '');
    expect(unvoted.find(second)).toBe(files[0]);
  });
});
