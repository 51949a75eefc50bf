// The URL shapes of boot-time resources, in one place: templates render them, the HTTP server
// routes them, the DHCP server hands out the first of them. Boot-time URLs for installers and
// cloud-init carry the operation's token in the path (not a query) because cloud-init's NoCloud
// `s=` appends file names to it; the agent's URLs carry none (its token goes in a header).

export function baseUrl(site: { address: string; http_port: number }): string {
  return httpBase(site.address, site.http_port);
}

/** http://ADDRESS:PORT, the root of every boot URL this server hands out. */
export function httpBase(address: string, port: number): string {
  return `http://${address}:${port}`;
}

const isUrl = (s: string) => /^https?:\/\//.test(s);

/** A file of the images directory as a URL (an http(s) URL, e.g. an image elsewhere, stays as it is). */
export function bootFileUrl(base: string, pathOrUrl: string): string {
  return isUrl(pathOrUrl) ? pathOrUrl : base + bootPaths.file(pathOrUrl);
}

/** What an installer's answer file reports while it runs (installer-routes.ts). */
export const INSTALLER_REPORTS = ['started'] as const;
export type InstallerReport = (typeof INSTALLER_REPORTS)[number];

/** Where an installer reports: the operation's token, then the report (`started`). */
export function installerReportPath(token: string, report: string): string {
  return `/v1/installer/${token}/${report}`;
}

export const bootPaths = {
  /** The per-machine iPXE script; the MAC is the one that asked (the HTTP route matches this shape). */
  ipxeScript: (mac: string) => `/boot/${mac}.ipxe`,
  /** A file under the images directory (loaders, the agent, images, installers). */
  file: (path: string) => `/boot/${path.replace(/^\/+/, '')}`,
  /** The deploy agent's kernel and initrd (boot-images/agent/). */
  agentKernel: '/boot/agent/vmlinuz',
  agentInitrd: '/boot/agent/initrd.img',
  /** NoCloud seed directory (meta-data, user-data, vendor-data, network-config are beneath). */
  nocloud: (token: string) => `/v1/nocloud/${token}/`,
  answer: (token: string) => `/v1/answer/${token}`,
  phoneHome: (token: string) => `/v1/phone-home/${token}`,
  /** An installer's answer file reports its start here (POST, or GET). */
  installerStarted: (token: string) => installerReportPath(token, 'started'),
  /** The agent's API; its token goes in a header, never in the URL. */
  agent: '/v1/agent',
  /** Where the agent trades its boot nonce for its agent token (POST nonce=…). */
  agentNonce: '/v1/agent/nonce',
} as const;
