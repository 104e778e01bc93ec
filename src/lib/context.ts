import { Output, type OutputStreams } from './output.js';
import { loadConfig, resolveSetting, type LoadedConfig, type ConfigValue, type SettingType } from './config.js';
import { createPrompter, type Prompter } from './prompt.js';
import { processRunner, type ProcessRunner } from './process.js';
import { resolveAws, type AwsOptions } from './aws.js';

/** The global flags every command accepts (declared once in cli.ts). */
export interface GlobalOptions {
  profile?: string;
  region?: string;
  json?: boolean;
  dryRun?: boolean;
  verbose?: boolean;
  debug?: boolean;
  color?: boolean;
  config?: string;
}

/**
 * What a command handler receives besides its own arguments: the global
 * options, the output, resolved configuration, and the shared side effects.
 */
export interface Context {
  global: GlobalOptions;
  out: Output;
  config: LoadedConfig;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C: long work checks it and cleans up. */
  signal: AbortSignal;
  prompt: Prompter;
  runner: ProcessRunner;
  /**
   * AWS profile and region after flag > environment > opsctl config > shared AWS config
   * (src/lib/aws.ts resolveAws). A command working on an id passes
   * `awsOptionsFor(ctx, { impliedRegion: regionFromId(id) })` to createAwsClient instead.
   */
  readonly aws: AwsOptions;
  /** flags > OPSCTL_<SECTION>_<KEY> > config file > fallback. */
  setting<T extends ConfigValue | undefined>(section: string, key: string, flag: T | undefined, fallback?: T, type?: SettingType): T | undefined;
}

export interface ContextIO {
  streams: OutputStreams;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  runner?: ProcessRunner;
}

export function createContext(global: GlobalOptions, io: ContextIO): Context {
  const env = io.env;
  const out = new Output(io.streams, { json: global.json, color: global.color, verbose: global.verbose, debug: global.debug });
  const config = loadConfig(global.config, env);
  const src = { config: config.data, configPath: config.path, env };
  const setting: Context['setting'] = (section, key, flag, fallback, type) => resolveSetting(src, section, key, flag, fallback, type);
  // Resolved on first use: commands that never talk to AWS never read ~/.aws/config.
  let aws: AwsOptions | undefined;
  return {
    global,
    out,
    config,
    env,
    signal: io.signal,
    prompt: createPrompter({ stdin: io.stdin, stderr: io.streams.stderr }),
    runner: io.runner ?? processRunner,
    get aws() {
      return (aws ??= resolveAws({ profileFlag: global.profile, regionFlag: global.region, env, config: config.data, configPath: config.path }));
    },
    setting,
  };
}
