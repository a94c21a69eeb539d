import { writeFileSync } from 'node:fs';
import { renderExampleConfig } from '../src/cli/config-example.js';

writeFileSync('config.example.yaml', renderExampleConfig());
console.log('wrote config.example.yaml');
