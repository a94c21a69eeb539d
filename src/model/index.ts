export * from './brand.js';
export * from './ids.js';
export * from './order-key.js';
export * from './entities.js';
export * from './events.js';
export * from './source-item.js';
export * from './watermark.js';
