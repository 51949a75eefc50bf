// Public surface of the TFTP server for the daemon (daemon/serve.ts) and tests.
export { startTftpServer, type TftpServer, type TftpDeps } from './server.js';
export { DEFAULT_SETTINGS, type TftpSettings, type TftpSettingsInput } from './settings.js';
export { bufferFile, firstOf, TftpRefusal, accessViolation, type TftpFile, type TftpHandler, type TftpClient } from './files.js';
export { directoryHandler, openInRoot, requestSegments } from './root.js';
export { udpSocketFactory, lossySocketFactory, type SocketFactory, type TftpSocket } from './socket.js';
export type { TftpStats } from './metrics.js';
