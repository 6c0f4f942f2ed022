// Type-aware lint: the rules that catch floating and misused promises need type information.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'functions/lib/**', 'coverage/**', '.local/**', 'bench-results/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The team's size rules, for the code we ship.
    files: ['functions/src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipComments: true, skipBlankLines: true }],
      complexity: ['error', 12],
      'max-depth': ['error', 4],
    },
  },
  {
    // The engine is pure: no SDK, no adapter. It reaches the world through its ports, and may
    // import dependency-free modules of shared constants and schemas (observability/log-events,
    // contracts/).
    files: ['functions/src/engine/**/*.ts'],
    rules: {
      // A file a newcomer reads in one sitting.
      'max-lines': ['error', { max: 250 }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['firebase-admin', 'firebase-admin/*', '@google-cloud/*', '@googleapis/*', 'google-auth-library', 'googleapis', 'firebase-functions', 'firebase-functions/*'],
              message: 'The engine talks to Google and Firestore through its ports; the adapters live outside engine/.',
            },
            {
              regex: '^(\\.\\./)+(google|store|entry|secrets|pubsub|tasks|identity|config|logging|register|trace|lru-map|index)(/|$)',
              message: 'The engine imports no adapter, entry point or composition root: define a port in the engine and implement it at the edge.',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.mjs', '**/*.js'], ...tseslint.configs.disableTypeChecked },
  { files: ['jest.config.js'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } } },
);
