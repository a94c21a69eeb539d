export {
  MatrixLiveSource,
  matrixLiveSourceKey,
  type MatrixLiveSourceOptions,
} from './matrix-live-source.js';
export type { MatrixLiveReport, RoomSkipReason } from './live-report.js';
