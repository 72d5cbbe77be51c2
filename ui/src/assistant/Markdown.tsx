// The little Markdown the assistant writes, drawn as React elements (never as HTML: whatever the
// model writes stays text): paragraphs, `#` headings, fenced code blocks, bulleted and numbered
// lists, `inline code`, **bold**, *italic* and http(s) links. Anything else shows as written. A
// half-streamed answer (an unclosed fence, say) draws as far as it goes.
import { Fragment, type ReactNode } from 'react';
import Box from '@mui/material/Box';
import Link from '@mui/material/Link';
import Typography from '@mui/material/Typography';

type Block =
  | { kind: 'paragraph'; text: string }
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'code'; language: string; text: string }
  | { kind: 'list'; ordered: boolean; items: string[] };

const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}\d{1,9}[.)]\s+(.*)$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE = /^\s{0,3}(```|~~~)\s*([\w+-]*)\s*$/;

export function parseBlocks(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  let list: { ordered: boolean; items: string[] } | undefined;
  const flush = () => {
    if (paragraph.length > 0) blocks.push({ kind: 'paragraph', text: paragraph.join('\n') });
    paragraph = [];
    if (list) blocks.push({ kind: 'list', ...list });
    list = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      for (i += 1; i < lines.length && !lines[i].trimStart().startsWith(fence[1]); i++) code.push(lines[i]);
      blocks.push({ kind: 'code', language: fence[2], text: code.join('\n') });
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      blocks.push({ kind: 'heading', level: heading[1].length, text: heading[2] });
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    const item = bullet ?? numbered;
    if (item) {
      const ordered = numbered !== null;
      if (paragraph.length > 0 || (list && list.ordered !== ordered)) flush();
      list ??= { ordered, items: [] };
      list.items.push(item[1]);
      continue;
    }
    if (list && /^\s+\S/.test(line)) {
      // A continuation line of the last item.
      list.items[list.items.length - 1] += `\n${line.trim()}`;
      continue;
    }
    if (list) flush();
    paragraph.push(line);
  }
  flush();
  return blocks;
}

const INLINE = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g;

/** Inline code, bold, italic and links of one block's text; the rest stays text. */
export function inline(text: string): ReactNode[] {
  const nodes: ReactNode[] = [];
  let last = 0;
  let key = 0;
  for (const match of text.matchAll(INLINE)) {
    const at = match.index ?? 0;
    if (at > last) nodes.push(text.slice(last, at));
    const [, , code, bold, bold2, italic, label, href] = match;
    if (code !== undefined) {
      nodes.push(
        <Box component="code" key={key++} sx={codeSx}>
          {code}
        </Box>,
      );
    } else if (bold !== undefined || bold2 !== undefined) {
      nodes.push(<strong key={key++}>{inline(bold ?? bold2)}</strong>);
    } else if (italic !== undefined) {
      nodes.push(<em key={key++}>{inline(italic)}</em>);
    } else if (label !== undefined && href !== undefined) {
      nodes.push(
        <Link key={key++} href={href} target="_blank" rel="noopener noreferrer">
          {label}
        </Link>,
      );
    }
    last = at + match[0].length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

const codeSx = {
  fontFamily: 'monospace',
  fontSize: '0.85em',
  px: 0.5,
  py: 0.1,
  borderRadius: 0.5,
  bgcolor: 'action.hover',
} as const;

export const preSx = {
  fontFamily: 'monospace',
  fontSize: '0.8rem',
  m: 0,
  p: 1,
  borderRadius: 1,
  bgcolor: 'action.hover',
  overflowX: 'auto',
  whiteSpace: 'pre',
} as const;

/** `text` as Markdown. */
export function Markdown({ text }: { text: string }) {
  const blocks = parseBlocks(text);
  return (
    <Box sx={{ '& > :first-of-type': { mt: 0 }, '& > :last-child': { mb: 0 }, overflowWrap: 'anywhere' }}>
      {blocks.map((block, i) => {
        switch (block.kind) {
          case 'heading':
            return (
              <Typography key={i} variant={block.level <= 2 ? 'subtitle1' : 'subtitle2'} component={`h${Math.min(block.level + 2, 6)}` as 'h3'} sx={{ fontWeight: 700, mt: 1.5, mb: 0.5 }}>
                {inline(block.text)}
              </Typography>
            );
          case 'code':
            return (
              <Box key={i} component="pre" sx={{ ...preSx, my: 1 }} data-language={block.language || undefined}>
                <code>{block.text}</code>
              </Box>
            );
          case 'list': {
            const Tag = block.ordered ? 'ol' : 'ul';
            return (
              <Box key={i} component={Tag} sx={{ my: 1, pl: 3 }}>
                {block.items.map((item, j) => (
                  <li key={j}>{lines(item)}</li>
                ))}
              </Box>
            );
          }
          default:
            return (
              <Typography key={i} variant="body2" component="p" sx={{ my: 1 }}>
                {lines(block.text)}
              </Typography>
            );
        }
      })}
    </Box>
  );
}

/** A block's text with its line breaks kept. */
function lines(text: string): ReactNode {
  const parts = text.split('\n');
  return parts.map((part, i) => (
    <Fragment key={i}>
      {i > 0 ? <br /> : null}
      {inline(part)}
    </Fragment>
  ));
}
