/** Skip items of the event being mapped. */
import type { SkipReason, SourceItem, UndecryptableWhy } from '../../model/index.js';
import type { MatrixEventContext } from './context.js';

/** Builds the skip for the event being mapped; `note` says why when the reason does not. */
export type Skip = (reason: SkipReason, note?: string) => SourceItem[];

export function skipper(where: string, ctx: MatrixEventContext): Skip {
  return (reason, note = '') => [
    {
      type: 'skip',
      reason,
      where: note === '' || !ctx.rules.skipNotes ? where : `${where}: ${note}`,
    },
  ];
}

/** The `undecryptable` skip of an event in the context's room, counted per room and reason. */
export function undecryptable(
  where: string,
  ctx: MatrixEventContext,
  why: UndecryptableWhy,
  note = '',
): SourceItem[] {
  return [
    {
      type: 'skip',
      reason: 'undecryptable',
      where: note === '' || !ctx.rules.skipNotes ? where : `${where}: ${note}`,
      undecryptable: { room: ctx.room, why },
    },
  ];
}
