import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** Decides whether the hop at `address` (index `hop`, 0 = the socket's peer) is a trusted proxy. */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * The trust function of TICKFLOW_TRUST_PROXY: `false`, `true` (every hop, only
 * behind a proxy that overwrites X-Forwarded-For), a number of hops, or a
 * comma separated list of addresses, CIDR ranges and the presets `loopback`,
 * `linklocal`, `uniquelocal` (private ranges: where a Kubernetes ingress or a
 * load balancer sits). Only X-Forwarded-For entries appended by trusted hops
 * count, so a client cannot pick its own address.
 */
export function trustProxy(setting: string): TrustProxy {
  const s = setting.trim();
  if (s === 'false' || s === '') return () => false;
  if (s === 'true') return () => true;
  if (/^\d+$/.test(s)) {
    const hops = Number(s);
    return (_a, i) => i < hops;
  }
  return proxyAddr.compile(s.split(',').map((x) => x.trim()).filter((x) => x !== ''));
}

/** True when TICKFLOW_TRUST_PROXY is valid. */
export function validTrustProxy(setting: string): boolean {
  try {
    trustProxy(setting);
    return true;
  } catch {
    return false;
  }
}

/** The client address of a raw request (the WebSocket upgrade), as fastify's `req.ip` computes it with the same trust. */
export function clientAddressOf(req: IncomingMessage, trust: TrustProxy): string {
  return proxyAddr(req, trust);
}
