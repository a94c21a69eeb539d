import { readFileSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The data flow (docs/architecture.md): a folder of src/ may import only the folders its rule
// lists. test/architecture.test.ts checks the same rules (and import cycles) over the whole tree.
const { folders } = JSON.parse(
  readFileSync(new URL('./docs/architecture-rules.json', import.meta.url), 'utf8'),
);
const flowRules = Object.entries(folders)
  .filter(([folder]) => folder !== 'shared')
  .map(([folder, allowed]) => {
    const banned = Object.keys(folders).filter(
      (f) => f !== folder && f !== 'shared' && !allowed.includes(f),
    );
    return {
      files: [`src/${folder}/**/*.ts`],
      rules: {
        'no-restricted-imports':
          banned.length === 0
            ? 'off'
            : [
                'error',
                {
                  patterns: [
                    {
                      group: banned.map((f) => `**/${f}/*`),
                      message: `src/${folder} may import only ${allowed.join(', ') || 'nothing of src/'} (docs/architecture.md).`,
                    },
                  ],
                },
              ],
      },
    };
  });

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'dist',
      'ferry-data',
      '.synapse',
      'coverage',
      'bench/tmp',
      'bin',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Row shapes of knex results are stated with `as`; the rule would want them moved into
      // generic arguments, which knex's typings do not carry through.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  ...flowRules,
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
