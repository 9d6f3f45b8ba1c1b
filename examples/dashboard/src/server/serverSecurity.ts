import { TickflowError } from '@tickflow/core';
import type { Logger } from 'pino';
import { TokenIssuer, dataDirSecret, generatedSecret } from './auth.js';
import type { ServerConfig } from './serverConfig.js';
import { seconds, securityPosture } from './serverConfig.js';

/**
 * Production (NODE_ENV=production or a non-loopback --host) refuses demo users
 * and a generated secret unless TICKFLOW_ALLOW_DEMO: throws then; otherwise
 * logs each problem and note as a warning.
 */
export function checkSecurityPosture(config: ServerConfig, log: Logger): void {
  const posture = securityPosture(config);
  if (posture.refuse) {
    throw new TickflowError('INVALID_ARGUMENT', `refusing to start in production (${posture.why}):\n${posture.problems.map((p) => `  ${p}`).join('\n')}\nSet TICKFLOW_ALLOW_DEMO=1 to start anyway (not for a server others can reach).`);
  }
  for (const p of posture.problems) log.warn({ production: posture.production, allowDemo: config.allowDemo }, posture.production ? `INSECURE (TICKFLOW_ALLOW_DEMO): ${p}` : `development mode: ${p}`);
  for (const n of posture.notes) log.warn(n);
}

/**
 * The access and refresh token issuer: signed with `config.jwtSecret`, or
 * without one with a development secret kept in the data dir (generated on
 * first start; a fresh one each start when the data dir is not writable).
 */
export async function openTokenIssuer(config: ServerConfig, log: Logger): Promise<TokenIssuer> {
  let secret = config.jwtSecret;
  if (secret === undefined) {
    const kept = await dataDirSecret(config.dataDir).catch((e: unknown) => {
      log.warn(`could not keep the development JWT secret in ${config.dataDir} (${e instanceof Error ? e.message : String(e)}): tokens stop working on restart`);
      return undefined;
    });
    secret = kept?.secret ?? generatedSecret();
    if (kept !== undefined) log.info({ file: kept.file }, kept.created ? `development JWT secret generated into ${kept.file}` : `development JWT secret read from ${kept.file}`);
  }
  return new TokenIssuer(secret, seconds(config.accessTtl), seconds(config.refreshTtl));
}
