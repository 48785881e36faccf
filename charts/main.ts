// Synthesis only: `npm run synth` (cdk8s.yaml runs this) writes one YAML file per chart to dist/.
import { App } from 'cdk8s';
import { buildSpeedLayer } from './app.js';

const app = new App();
buildSpeedLayer(app);
app.synth();
