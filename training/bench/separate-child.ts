/** Child of bench:separate: separates one file and prints {seconds, maxRssMb} as the last line. */
import { separateFileWithModel } from '../separate/model-separate';
import { loadOnnxModel } from '../separate/onnx-model';

const [input, modelPath, out] = process.argv.slice(2);
const model = await loadOnnxModel(modelPath);
const started = performance.now();
await separateFileWithModel(input, model, out, { wienerIterations: 1, exactSum: true });
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
