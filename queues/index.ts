export * from './names.js';
export * from './commands.js';
export * from './job-options.js';
export * from './connection.js';
