/**
 * The calls sixback makes without the SDK find the service in every partition the stack targets
 * (cdk.json: aws and aws-cn), where the SDK would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awsServiceHost } from '../../core/aws/hosts.ts';
import { awsJsonCall } from '../../core/aws/secret.ts';
import { REPO_ROOT } from '../../infra/bundling.ts';

describe('awsServiceHost', () => {
  it('puts the China regions under amazonaws.com.cn and every other region under amazonaws.com', () => {
    expect(awsServiceHost('dynamodb', 'cn-north-1')).toBe('dynamodb.cn-north-1.amazonaws.com.cn');
    expect(awsServiceHost('secretsmanager', 'cn-northwest-1')).toBe(
      'secretsmanager.cn-northwest-1.amazonaws.com.cn',
    );
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'ca-central-1', 'us-gov-west-1'])
      expect(awsServiceHost('email', region)).toBe(`email.${region}.amazonaws.com`);
  });

  it('is where the secret lookup sends its signed request', async () => {
    const urls: string[] = [];
    const fetch = async (url: string) => {
      urls.push(url);
      return { ok: true, status: 200, text: async () => '{"SecretString":"k"}' };
    };
    await awsJsonCall({
      region: 'cn-north-1',
      service: 'secretsmanager',
      target: 'secretsmanager.GetSecretValue',
      body: { SecretId: 'x' },
      fetch: fetch as never,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    expect(urls.map((url) => new URL(url).host)).toEqual(['secretsmanager.cn-north-1.amazonaws.com.cn']);
  });

  it('is the only place in core/ that names an AWS DNS suffix', () => {
    const root = join(REPO_ROOT, 'core');
    const files = (readdirSync(root, { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts'))
      .map((file) => join(root, file));
    const offenders = files.filter((file) => {
      if (file.endsWith(join('aws', 'hosts.ts'))) return false;
      // Comments may show an example host; code may not build one.
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      return /amazonaws\.com/.test(code);
    });
    expect(offenders.map((file) => relative(REPO_ROOT, file))).toEqual([]);
  });
});
