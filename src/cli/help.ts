export const mainHelp = `Usage: wampmesh <command> [options]

A WAMP v2 router: RPC and PubSub over WebSocket and RawSocket.

Commands:
  serve            Run the router in the foreground (see: wampmesh serve --help)
  realm|user|group|grant|source ...
                   Manage realms and security (see: wampmesh realm --help)
  security export|import FILE
                   The whole security configuration as one JSON document
  mesh status      Links, peers, routes and members of the running router
  mesh admit|remove NODE
                   Admit a node to the mesh, or remove it for good (see: wampmesh mesh --help)
  tls              Fingerprints of the TLS listeners' certificates (see: wampmesh tls --help)
  bridge status    State, queue and errors of each bridge (also: bridge dead NAME, bridge replay NAME)
  admin reset --data DIR
                   With the router stopped: restore a working admin login (new password)
  help [serve]     Show this help, or the help of serve

Options:
  -h, --help       Show this help
  -V, --version    Print the version and exit

Exit status: 0 success, 1 error (bad config, cannot listen), 2 bad command line.
`;

export const serveHelp = `Usage: wampmesh serve [options]

Runs the router in the foreground until SIGTERM or SIGINT. Without --config it serves realm
"realm1" to anonymous clients on WebSocket 127.0.0.1:8080/ws and RawSocket 127.0.0.1:8081,
with its data in ./data. Once every listener is up it prints one JSON line on stdout:
  {"event":"listening","listeners":[{"transport":"websocket","host":...,"port":...,...}]}
Logs are JSON lines on stderr.

Options (each overrides the config file):
  --config FILE           JSON config file (see README.md, "Config file")
  --ws HOST:PORT[/PATH]   WebSocket listener, path default /ws; repeatable; replaces the
                          file's WebSocket listeners. IPv6: [::1]:8080. Port 0: any free port
  --rawsocket HOST:PORT   RawSocket (TCP) listener; repeatable; replaces the file's list
  --unix PATH             RawSocket on a Unix socket (mode 0660); repeatable; replaces the
                          file's list
  --data DIR              Data directory (default ./data)
  --log-level LEVEL       silent, error, warn, info or debug (default warn)
  --realm URI             Serve this realm; repeatable; replaces the file's realms (a realm
                          the file defines keeps its settings, others allow anonymous clients)
  -h, --help              Show this help
`;
