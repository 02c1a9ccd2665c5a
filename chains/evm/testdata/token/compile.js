// compile.js rebuilds Token.bin and Token.abi from Token.sol with solc-js:
//
//   npm install --prefix /tmp/solc solc@0.8.37
//   NODE_PATH=/tmp/solc/node_modules node compile.js
//
// Settings: optimizer on, 200 runs, EVM version cancun, no metadata hash (so
// the output depends on the source text alone).
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const source = fs.readFileSync(path.join(__dirname, "Token.sol"), "utf8");
const input = {
  language: "Solidity",
  sources: { "Token.sol": { content: source } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    metadata: { bytecodeHash: "none", appendCBOR: false },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of out.errors || []) {
  console.error(e.formattedMessage);
  if (e.severity === "error") process.exit(1);
}
const c = out.contracts["Token.sol"].Token;
fs.writeFileSync(path.join(__dirname, "Token.bin"), c.evm.bytecode.object + "\n");
fs.writeFileSync(path.join(__dirname, "Token.abi"), JSON.stringify(c.abi) + "\n");
console.log("solc", solc.version());
