/** Child of bench:separate: separates one file and prints {seconds, maxRssMb} as the last line. */
import { channelSwapAveraged } from '../../src/core/separator';
import { separateFileWithModel } from '../separate/model-separate';
import { loadOnnxModel } from '../separate/onnx-model';

const [input, modelPath, out, tta] = process.argv.slice(2);
const loaded = await loadOnnxModel(modelPath);
const model = tta === 'tta' ? channelSwapAveraged(loaded) : loaded;
const started = performance.now();
await separateFileWithModel(input, model, out, { wienerIterations: 1, exactSum: true });
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
