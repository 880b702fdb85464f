'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

// Builds the functions' zip (deploy/lambda_build.py) before Serverless packages, so that
// `npx serverless package|deploy` works on its own after `make install`. The build caches the
// locked wheels per lock file, so an unchanged tree rebuilds in seconds.
class LambdaBuild {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:initialize': () => this.build() };
  }

  build() {
    const root = this.serverless.serviceDir || this.serverless.config.servicePath;
    const venv = path.join(root, '.venv', 'bin', 'python');
    const python = process.env.LAMBDA_BUILD_PYTHON || (fs.existsSync(venv) ? venv : 'python3');
    execFileSync(python, ['-m', 'deploy.lambda_build'], { cwd: root, stdio: 'inherit' });
  }
}

module.exports = LambdaBuild;
