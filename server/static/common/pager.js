// Pages for a list that must fit its box without scrolling: a board with 30 counters,
// a kiosk with 12 fields on a landscape screen. The list box has a fixed height (a flex or
// grid child with min-height: 0); its items are split where the box overflows, and one
// page shows at a time. Pages are measured, not counted: long names that wrap, a bigger
// font on a bigger screen, a phone turned sideways all give the right number per page.

/** Split `items` (children of `box`) into pages [[start, end), …] that each fit the box. */
export function splitIntoPages(box, items) {
  const pages = [];
  let start = 0;
  while (start < items.length) {
    items.forEach((item, i) => { item.hidden = i < start; });
    const rect = box.getBoundingClientRect();
    const style = getComputedStyle(box);
    const limit = rect.bottom - parseFloat(style.paddingBottom || "0") - parseFloat(style.borderBottomWidth || "0") + 1;
    let end = start + 1;  // at least one item a page, even one taller than the box
    while (end < items.length && items[end].getBoundingClientRect().bottom <= limit) end += 1;
    pages.push([start, end]);
    start = end;
  }
  return pages.length ? pages : [[0, 0]];
}

/**
 * Keeps a list paged: `layout()` after the items change or the box resizes; `next()`,
 * `previous()`, `show(i)` turn pages; with `seconds` the pages cycle by themselves.
 * `onChange({page, pages})` runs after every change (for the indicator and the buttons).
 */
export class Pager {
  /**
   * `prepare()` runs before each measure, with every item shown (to pick a size that fits, say).
   * `lockHeight`: for a box whose height follows its content up to a max-height: its height is
   * kept while pages turn, so a short last page does not move everything around it.
   */
  constructor(box, { seconds = 0, onChange = () => {}, prepare = () => {}, lockHeight = false } = {}) {
    this.box = box;
    this.seconds = seconds;
    this.onChange = onChange;
    this.prepare = prepare;
    this.lockHeight = lockHeight;
    this.pages = [[0, 0]];
    this.page = 0;
    this.timer = null;
    this.frame = 0;
    if ("ResizeObserver" in window) {
      let last = "";
      new ResizeObserver(() => {
        const size = `${box.clientWidth}x${box.clientHeight}`;
        if (size !== last) {
          last = size;
          this.layoutSoon();
        }
      }).observe(box);
    }
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(() => this.layoutSoon());
  }

  get items() {
    return [...this.box.children];
  }

  get count() {
    return this.pages.length;
  }

  /** Measure the pages again; the page on screen stays (or the last one, if fewer now). */
  layout() {
    cancelAnimationFrame(this.frame);
    // A hidden box (the kiosk's start screen under its ticket) has nothing to measure: wait until it shows.
    if (!this.box.getClientRects().length) return;
    const items = this.items;
    items.forEach((item) => { item.hidden = false; });
    if (this.lockHeight) this.box.style.height = "";
    this.prepare();
    if (this.lockHeight && items.length) this.box.style.height = `${this.box.getBoundingClientRect().height}px`;
    this.pages = items.length ? splitIntoPages(this.box, items) : [[0, 0]];
    this.show(Math.min(this.page, this.pages.length - 1));
  }

  /** Layout at the next frame: several changes in one burst are measured once. */
  layoutSoon() {
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => this.layout());
  }

  show(index) {
    const count = this.pages.length;
    this.page = ((index % count) + count) % count;
    const [start, end] = this.pages[this.page];
    this.items.forEach((item, i) => { item.hidden = i < start || i >= end; });
    this.onChange({ page: this.page, pages: count });
    this.restartCycle();
  }

  next() { this.show(this.page + 1); }

  previous() { this.show(this.page - 1); }

  /** The page that holds item `index`. */
  pageOf(index) {
    const found = this.pages.findIndex(([start, end]) => index >= start && index < end);
    return found < 0 ? 0 : found;
  }

  restartCycle() {
    clearTimeout(this.timer);
    if (this.seconds > 0 && this.pages.length > 1) this.timer = setTimeout(() => this.next(), this.seconds * 1000);
  }
}

/** "Trang 2/3" and one dot per page, into `node` (a page indicator); hidden with one page. */
export function renderIndicator(node, { page, pages }) {
  node.hidden = pages <= 1;
  if (pages <= 1) return;
  const dots = document.createElement("span");
  dots.className = "page-dots";
  dots.setAttribute("aria-hidden", "true");
  for (let i = 0; i < pages; i += 1) {
    const dot = document.createElement("span");
    dot.className = i === page ? "page-dot is-current" : "page-dot";
    dots.append(dot);
  }
  const text = document.createElement("span");
  text.className = "page-text";
  text.textContent = `Trang ${page + 1}/${pages}`;
  node.replaceChildren(text, dots);
}
