/** The bench's console lines: seconds since the bench started, then the message. */
const STARTED = Date.now();
export const say = (msg: string) => console.log(`[bench ${((Date.now() - STARTED) / 1000).toFixed(0).padStart(4)}s] ${msg}`);
export const fmtRate = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0)).padStart(6);

