'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

// Builds the functions' zips (deploy/lambda_build.py: one per kind, deploy/artefacts.py) before
// Serverless packages, so that `npx serverless package|deploy` works on its own after `make install`,
// then gives each function its zip and, for the request handlers, SnapStart (osls then publishes a
// version and points the HTTP API's routes at the `snapstart` alias). Both come from the map the
// build writes (.local/lambda/artefacts.json), so Python alone decides which function gets what;
// `SNAPSTART=false` turns SnapStart off. The build caches the locked wheels per lock file, so an
// unchanged tree rebuilds in seconds.
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
    const map = JSON.parse(fs.readFileSync(path.join(root, '.local', 'lambda', 'artefacts.json'), 'utf8'));
    for (const name of this.serverless.service.getAllFunctions()) {
      const entry = map[name];
      if (!entry) throw new Error(`lambda-build: no artefact for function ${name} (deploy/artefacts.py)`);
      const fn = this.serverless.service.getFunction(name);
      fn.package = { ...(fn.package || {}), artifact: entry.artifact };
      if (entry.snapStart) fn.snapStart = true;
      else delete fn.snapStart;
    }
  }
}

module.exports = LambdaBuild;
