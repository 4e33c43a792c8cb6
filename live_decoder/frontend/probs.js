// The model's classifier in the browser: its class probabilities for every decoded image, shown as bars
// beside the image. The classifier is a small ONNX MLP (vae/bundles/classifier.py): input "x" (1, pixels),
// output "probabilities" (1, classes); a run takes well under a millisecond, so it runs in the same frame
// as the decode it reads.

export class ClassifierPanel {
  constructor(panel, list, caption, onReady) {
    Object.assign(this, { panel, list, caption, onReady, session: null, id: null, wantedId: null, names: [],
                          rows: [] });
    this.last = null;   // tests read the latest probabilities (window.__liveDecoderProbabilities)
  }

  // From each render's args: load the classifier when a new one arrives; hide the panel when there is none.
  want(args, loadOrt, fetchBytes) {
    const id = args.classifier_id || null;
    if (id === this.wantedId) return;
    this.wantedId = id;
    if (!id) { this.drop(); return; }
    this.load(args, loadOrt, fetchBytes, id).catch((err) => {
      console.error("live decoder: no class probabilities:", err);   // the decoder works without them
      if (id === this.wantedId) this.drop();
    });
  }

  async load(args, loadOrt, fetchBytes, id) {
    let bytes = args.classifier;
    if (!bytes && args.classifier_url) bytes = await fetchBytes(args.classifier_url);
    if (!bytes) throw new Error("no classifier was passed");
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ["wasm"] });
    if (id !== this.wantedId) { session.release(); return; }
    if (this.session) this.session.release();
    Object.assign(this, { ort, session, id, names: args.class_names || [] });
    this.build();
    this.onReady();   // the image shown gets its probabilities (decoded again, in the decoder's turn)
  }

  drop() {
    if (this.session) this.session.release();
    Object.assign(this, { session: null, id: null, last: null });
    this.panel.classList.add("hidden");
  }

  build() {
    this.list.textContent = "";
    this.rows = this.names.map((name) => {
      const row = document.createElement("div");
      row.className = "prob";
      const label = document.createElement("span");
      label.textContent = name;
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      bar.append(fill);
      const value = document.createElement("span");
      value.className = "pct";
      row.append(label, bar, value);
      this.list.append(row);
      return { row, fill, value };
    });
    this.panel.classList.remove("hidden");
  }

  // The decoded image's probabilities, drawn; call with the decoder's output (pixels in [0, 1]).
  async run(pixels) {
    if (!this.session) return;
    const x = new this.ort.Tensor("float32", Float32Array.from(pixels), [1, pixels.length]);   // a copy: the
    // decoder's output may be a view of its WebAssembly memory
    const out = await this.session.run({ x }, ["probabilities"]);
    const p = out.probabilities.data;
    this.last = Array.from(p);
    let top = 0;
    for (let i = 1; i < p.length; i++) if (p[i] > p[top]) top = i;
    for (let i = 0; i < this.rows.length; i++) {
      const { row, fill, value } = this.rows[i];
      fill.style.width = `${(100 * p[i]).toFixed(1)}%`;
      value.textContent = `${Math.round(100 * p[i])}%`;
      row.classList.toggle("top", i === top);
    }
    const name = this.names[top] ?? String(top);
    this.caption.textContent = p[top] >= 0.5
      ? `The classifier names it ${name} (${Math.round(100 * p[top])}%)`
      : `The classifier cannot name it: at most ${Math.round(100 * p[top])}% (${name})`;
    this.list.setAttribute("aria-label", `class probabilities: ${this.caption.textContent}`);
  }
}
