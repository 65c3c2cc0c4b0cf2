// The SSH transport on top of the npm package ssh2: connect (host key checked against an
// OpenSSH known_hosts file, key-file or agent auth), exec with streamed lines and a bound,
// SFTP upload. Every fault is a typed SshFailure with a one-line message that names
// host:port and what to do; nothing throws past this module, and a dropped connection
// resolves whatever is pending with kind "lost" instead of hanging.
//
// This module is the transport's public face; the work is in connect.ts (connecting and
// its failures), connection.ts (liveness), exec.ts (commands) and upload.ts (SFTP).
export { connectSsh } from "./connect.ts";
export type { ExecOptions, ExecResult, SshEndpoint, SshFailure, SshFailureKind, SshSession } from "./types.ts";
