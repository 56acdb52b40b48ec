export { Head, MemSeries, REJECT_REASONS, type AppendResult, type ChangeTracker, type HeadMemory, type HeadOptions, type RejectReason, type SealedChunk } from './head.js';
export { HeadQuerier } from './querier.js';
export { tsdbStatus, type NameValue, type TsdbStatus } from './stats.js';
