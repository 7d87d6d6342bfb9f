import type { BrowseNode } from './types';

// The address-space browser's state: a tree that loads one level per expanded node (Browse),
// with loading and error state per node, and the keyboard moves of the WAI-ARIA tree pattern
// over the rows currently visible.

export type BrowseFn = (connection: string, node: string) => Promise<BrowseNode[]>;

export class TreeItem {
  /** What Browse said about this node; the root's is filled in by its first Browse. */
  info = $state.raw<BrowseNode>({ depth: 0, path: '', browseName: 'Objects', nodeClass: 'Object', nodeId: '' });
  /** Children once loaded; null before the first Browse of this node. */
  children = $state.raw<TreeItem[] | null>(null);
  expanded = $state(false);
  loading = $state(false);
  error = $state('');
  /** When this node's children (and their values) were read, ms on the page's clock. */
  readAt = $state(0);
  /** Increases with every Browse of this node, so a late reply to an older one is dropped. */
  generation = 0;

  constructor(
    /** Unique in the tree: the node ids from the root down, joined with "\n". */
    readonly key: string,
    readonly parent: TreeItem | null,
    info?: BrowseNode,
  ) {
    if (info) this.info = info;
  }

  /** 1 for the root (aria-level). */
  get level(): number {
    return this.parent ? this.parent.level + 1 : 1;
  }

  /** Browse names from the root's children down to this node (the root itself excluded). */
  get names(): string[] {
    const out: string[] = [];
    for (let n: TreeItem | null = this; n && n.parent; n = n.parent) out.unshift(n.info.browseName);
    return out;
  }

  get isVariable(): boolean {
    return this.info.nodeClass === 'Variable';
  }

  /** Can have children worth a Browse: not a variable or method, and not known to be empty. */
  get expandable(): boolean {
    if (this.info.nodeClass === 'Variable' || this.info.nodeClass === 'Method') return false;
    return this.children === null || this.children.length > 0;
  }
}

export class BrowseTree {
  readonly root: TreeItem;
  /** Key of the row that holds the tree's tab stop. */
  focused = $state('');

  constructor(
    readonly connection: string,
    private readonly browse: BrowseFn,
    private readonly now: () => number = Date.now,
  ) {
    this.root = new TreeItem('', null);
    this.focused = this.root.key;
  }

  /** Loads (or reloads) the children of a node. Never rejects: errors land on the node. */
  async load(item: TreeItem): Promise<void> {
    const gen = ++item.generation;
    item.loading = true;
    item.error = '';
    try {
      const nodes = await this.browse(this.connection, item === this.root ? '' : item.info.nodeId);
      if (gen !== item.generation) return;
      const self = nodes.find((n) => n.depth === 0);
      if (self) item.info = { ...item.info, ...self };
      const old = new Map((item.children ?? []).map((c) => [c.info.nodeId, c]));
      item.children = nodes
        .filter((n) => n.depth === 1)
        .map((n) => {
          // A reload keeps what was open below a node that is still there.
          const prev = old.get(n.nodeId);
          if (prev) {
            prev.info = n;
            return prev;
          }
          return new TreeItem(`${item.key}\n${n.nodeId}`, item, n);
        });
      item.readAt = this.now();
    } catch (e) {
      if (gen !== item.generation) return;
      item.error = e instanceof Error ? e.message : String(e);
    } finally {
      if (gen === item.generation) item.loading = false;
    }
  }

  /** Opens a node, browsing it the first time (or again after an error). */
  expand(item: TreeItem): Promise<void> {
    if (!item.expandable) return Promise.resolve();
    item.expanded = true;
    if ((item.children === null || item.error) && !item.loading) return this.load(item);
    return Promise.resolve();
  }

  collapse(item: TreeItem): void {
    item.expanded = false;
  }

  /** Opens or closes a node; on a node whose Browse failed, tries again. */
  toggle(item: TreeItem): Promise<void> {
    if (item.expanded && !item.error) {
      this.collapse(item);
      return Promise.resolve();
    }
    return this.expand(item);
  }

  /** The rows on screen, top to bottom: the root and the children of every open node. */
  visible(): TreeItem[] {
    const out: TreeItem[] = [];
    const walk = (n: TreeItem) => {
      out.push(n);
      if (n.expanded && n.children) for (const c of n.children) walk(c);
    };
    walk(this.root);
    return out;
  }

  find(key: string): TreeItem | undefined {
    return this.visible().find((n) => n.key === key);
  }

  /** The focused row; the root when the focused one has been hidden by a collapse. */
  current(): TreeItem {
    const rows = this.visible();
    return rows.find((n) => n.key === this.focused) ?? this.nearestShown(rows);
  }

  private nearestShown(rows: TreeItem[]): TreeItem {
    // The focused row went out of sight: its closest visible ancestor takes the focus.
    const keys = new Set(rows.map((r) => r.key));
    let k = this.focused;
    while (k && !keys.has(k)) k = k.slice(0, Math.max(0, k.lastIndexOf('\n')));
    return rows.find((r) => r.key === k) ?? this.root;
  }

  /**
   * A key pressed on the tree (ArrowUp/Down/Left/Right, Home, End, Enter, Space, *). Returns
   * true when the tree handled it. Enter and Space on a variable are left to the caller.
   */
  key(key: string): boolean {
    const rows = this.visible();
    const cur = this.current();
    const i = rows.indexOf(cur);
    switch (key) {
      case 'ArrowDown':
        if (i < rows.length - 1) this.focused = rows[i + 1].key;
        return true;
      case 'ArrowUp':
        if (i > 0) this.focused = rows[i - 1].key;
        return true;
      case 'Home':
        this.focused = rows[0].key;
        return true;
      case 'End':
        this.focused = rows[rows.length - 1].key;
        return true;
      case 'ArrowRight':
        if (cur.expandable && !cur.expanded) void this.expand(cur);
        else if (cur.expanded && cur.children?.length) this.focused = cur.children[0].key;
        return true;
      case 'ArrowLeft':
        if (cur.expanded) this.collapse(cur);
        else if (cur.parent) this.focused = cur.parent.key;
        return true;
      case 'Enter':
      case ' ':
        if (cur.isVariable) return false;
        void this.toggle(cur);
        return true;
      case '*':
        for (const s of cur.parent?.children ?? [cur]) void this.expand(s);
        return true;
      default:
        return false;
    }
  }
}
