// HAL widget SDK as an ES module: `import HalWidget from "<api>/widget.mjs"`.
// It runs widget.js (which also defines window.HalWidget) and exports that client.
import "./widget.js";

const HalWidget = globalThis.HalWidget;

export default HalWidget;
export const {
  init,
  identify,
  setProperties,
  track,
  setStage,
  setDeal,
  sendMessage,
  conversations,
  create,
  HalWidgetError,
} = HalWidget;
