// A storefront page as a shop would write it: the package from node_modules, bundled by Vite.
import { Personalizer } from "pocketrank";
import { fetchBundle } from "pocketrank/loader";

const candidates = [
  { id: "0", title: "Fire Emblem: The Sacred Stones" },
  { id: "2", title: "Super Mario Advance" },
  { id: "3", title: "Metroid Fusion" },
];
const p = await Personalizer.create(await fetchBundle("./model.bundle"), { backend: "auto" });
await p.observe({ itemId: "3", type: "view", ts: 1, title: "Metroid Fusion" });
const ranked = await p.rerank(candidates);
document.getElementById("list").replaceChildren(...ranked.map((r) => Object.assign(document.createElement("li"), { textContent: r.id })));
window.result = { backend: p.backend, ids: ranked.map((r) => r.id) };
