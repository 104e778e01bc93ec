#!/usr/bin/env node
// The entry is bin/opsctl.cjs. This file keeps links made to the old name working
// (an earlier `npm link`, npx's cache of a checkout): it runs the same entry.
import { createRequire } from 'node:module';
createRequire(import.meta.url)('./opsctl.cjs');
