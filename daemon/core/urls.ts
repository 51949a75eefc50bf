// The URL shapes of boot-time resources, in one place: templates render them, the HTTP server
// routes them, the DHCP server hands out the first of them. Boot-time URLs for installers and
// cloud-init carry the operation's token in the path (not a query) because cloud-init's NoCloud
// `s=` appends file names to it; the agent's URLs carry none (its token goes in a header).

export function baseUrl(site: { address: string; http_port: number }): string {
  return `http://${site.address}:${site.http_port}`;
}

export const bootPaths = {
  /** The per-machine iPXE script; iPXE fills in ${net0/mac} itself. */
  ipxeScript: (mac: string) => `/boot/${mac}.ipxe`,
  /** NoCloud seed directory (meta-data, user-data, vendor-data, network-config are beneath). */
  nocloud: (token: string) => `/v1/nocloud/${token}/`,
  answer: (token: string) => `/v1/answer/${token}`,
  phoneHome: (token: string) => `/v1/phone-home/${token}`,
  /** The agent's API; its token goes in a header, never in the URL. */
  agent: '/v1/agent',
  /** Where the agent trades its boot nonce for its agent token (POST nonce=…). */
  agentNonce: '/v1/agent/nonce',
} as const;
