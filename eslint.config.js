// Lint: the recommended JavaScript and typescript-eslint rules, plus the habits this
// codebase keeps (no swallowed errors, no unused code). Formatting is Prettier's job
// (`npm run format`); eslint-config-prettier turns off the rules that would fight it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default tseslint.config(
  // what .gitignore keeps out of the repository too (local data, scratch work, eval output): a
  // lint of a working checkout judges the same files as CI's clean clone
  {
    ignores: [
      'node_modules/**',
      '.data/**',
      '.test-data/**',
      '.test-build/**',
      'dist/**',
      'docs/**',
      'coverage/**',
      'scratch/**',
      'eval-out/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // An empty catch swallows an error without saying why that is safe.
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // A swallowed error is either logged (at debug, with why it is safe) or handled.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[body.type='BlockStatement'][body.body.length=0]",
          message: 'Do not swallow the error: log it (at debug, saying why that is safe) or handle it.',
        },
        {
          selector:
            "CallExpression[callee.property.name=/^(on|once)$/][arguments.0.value='error'] > " +
            "ArrowFunctionExpression[body.type='BlockStatement'][body.body.length=0]",
          message: "An 'error' listener that does nothing hides failures: log at debug, saying why that is safe.",
        },
      ],
    },
  },
  {
    // The dashboard's modules run in the browser, not in Node.
    files: ['src/ui/static/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Test doubles mirror loosely typed wire formats (the OpenAI protocol, JSON schemas).
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
