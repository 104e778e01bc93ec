#!/usr/bin/env node
// The whole entry is dist/launch.cjs (built from src/launch.ts).
require('../dist/launch.cjs').start(require('node:path').join(__dirname, '..', 'dist'));
