// After `vite build`: copy the pinned API documentation UIs (Scalar, Swagger UI) from
// node_modules into dist/assets/docs/ under versioned or content-hashed names, and list their
// URLs in dist/docs-assets.json for the API's render plugins (api/web.py). No CDN at run time.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "assets", "docs");
mkdirSync(out, { recursive: true });

const version = (pkg) =>
  JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version;

function copy(source, name) {
  copyFileSync(join(root, source), join(out, name));
  return `/assets/docs/${name}`;
}

function copyHashed(source, stem, ext) {
  const hash = createHash("sha256").update(readFileSync(join(root, source))).digest("hex");
  return copy(source, `${stem}-${hash.slice(0, 10)}.${ext}`);
}

const scalar = version("@scalar/api-reference");
const swagger = version("swagger-ui-dist");
const urls = {
  scalar_js: copy(
    "node_modules/@scalar/api-reference/dist/browser/standalone.js",
    `scalar-api-reference-${scalar}.js`,
  ),
  scalar_css: copyHashed("docs/docs.css", "docs", "css"),
  swagger_js: copy("node_modules/swagger-ui-dist/swagger-ui-bundle.js", `swagger-ui-bundle-${swagger}.js`),
  swagger_css: copy("node_modules/swagger-ui-dist/swagger-ui.css", `swagger-ui-${swagger}.css`),
  swagger_preset_js: copy(
    "node_modules/swagger-ui-dist/swagger-ui-standalone-preset.js",
    `swagger-ui-standalone-preset-${swagger}.js`,
  ),
  swagger_init_js: copyHashed("docs/swagger-init.js", "swagger-init", "js"),
};
writeFileSync(join(root, "dist", "docs-assets.json"), JSON.stringify(urls, null, 1) + "\n");
console.log(`API docs assets: Scalar ${scalar}, Swagger UI ${swagger} -> dist/assets/docs/`);
