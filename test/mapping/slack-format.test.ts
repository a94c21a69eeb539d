import { describe, expect, it } from 'vitest';
import { slackMessageToMatrix, type MentionResolver } from '../../src/mapping/slack-format.js';

const resolver: MentionResolver = {
  user: (id) =>
    id === 'U1'
      ? { mxid: '@ada:example.org', displayName: 'Ada' }
      : id === 'W2'
        ? { mxid: '@bob:example.org', displayName: 'Bob <B>' }
        : undefined,
  channel: (id) => (id === 'C1' ? { target: '#general:example.org', name: 'general' } : undefined),
};

const ADA = '<a href="https://matrix.to/#/@ada:example.org">Ada</a>';

/** The resolver plus custom emoji: one uploaded image, one alias of a standard emoji. */
const withEmoji: MentionResolver = {
  user: (id) => resolver.user(id),
  channel: (id) => resolver.channel(id),
  customEmoji: (name) =>
    name === 'partyparrot'
      ? { kind: 'image', mxc: 'mxc://ferry.test/Parrot42' }
      : name === 'thumbs'
        ? { kind: 'alias', shortcode: 'thumbsup' }
        : name === 'badimage'
          ? { kind: 'image', mxc: 'https://emoji.slack-edge.com/x.png' }
          : name === 'badalias'
            ? { kind: 'alias', shortcode: 'no_such_emoji' }
            : undefined,
};
const PARROT =
  '<img data-mx-emoticon src="mxc://ferry.test/Parrot42" alt=":partyparrot:" title=":partyparrot:" height="32" />';

const fromText = (text: string) => slackMessageToMatrix({ text }, resolver);

// Rich-text builders.
const t = (text: string, style?: Record<string, boolean>) => ({
  type: 'text',
  text,
  ...(style ? { style } : {}),
});
const section = (...elements: unknown[]) => ({ type: 'rich_text_section', elements });
const list = (style: 'bullet' | 'ordered', indent: number, items: string[], offset?: number) => ({
  type: 'rich_text_list',
  style,
  indent,
  ...(offset === undefined ? {} : { offset }),
  elements: items.map((item) => section(t(item))),
});
const richText = (...elements: unknown[]) =>
  slackMessageToMatrix(
    { text: 'ignored fallback', blocks: [{ type: 'rich_text', elements }] },
    resolver,
  );

describe('mrkdwn text', () => {
  it('plain text has no formatted_body', () => {
    expect(fromText('hello\nworld')).toEqual({ body: 'hello\nworld', mentionedUserIds: [] });
  });

  it('decodes &amp; &lt; &gt; once and escapes again for HTML', () => {
    const out = fromText('a &amp; b &lt;tag&gt; *x*');
    expect(out.body).toBe('a & b <tag> x');
    expect(out.formatted_body).toBe('a &amp; b &lt;tag&gt; <strong>x</strong>');
  });

  it('decodes only one level: &amp;lt; is the literal text &lt;', () => {
    expect(fromText('&amp;lt;').body).toBe('&lt;');
    expect(fromText('*&amp;lt;*').formatted_body).toBe('<strong>&amp;lt;</strong>');
  });

  it('decodes no other entities', () => {
    expect(fromText('&quot;&#39;&nbsp;').body).toBe('&quot;&#39;&nbsp;');
  });

  it('turns known user mentions into pills, with or without a label', () => {
    const out = fromText('hi <@U1> and <@W2|bobby>');
    expect(out.formatted_body).toBe(
      `hi ${ADA} and <a href="https://matrix.to/#/@bob:example.org">Bob &lt;B&gt;</a>`,
    );
    expect(out.body).toBe('hi Ada and Bob <B>');
    expect(out.mentionedUserIds).toEqual(['@ada:example.org', '@bob:example.org']);
  });

  it('renders unknown users as their label or @ID, without a pill', () => {
    const out = fromText('<@U9|carol> <@U8>');
    expect(out).toEqual({ body: '@carol @U8', mentionedUserIds: [] });
  });

  it('converts every occurrence of a repeated mention (chained-replace regression)', () => {
    const out = fromText('<@U1> <@U1>');
    expect(out.formatted_body).toBe(`${ADA} ${ADA}`);
    expect(out.body).toBe('Ada Ada');
    expect(out.mentionedUserIds).toEqual(['@ada:example.org']);
  });

  it('links known channels with #name and renders unknown ones as #label or #ID', () => {
    const out = fromText('<#C1|old-name> <#C7|random> <#C8>');
    expect(out.formatted_body).toBe(
      '<a href="https://matrix.to/#/#general:example.org">#general</a> #random #C8',
    );
    expect(out.body).toBe('#general (https://matrix.to/#/#general:example.org) #random #C8');
  });

  it('renders broadcasts as inert text, never @room', () => {
    const out = fromText('<!here> <!channel> <!everyone> <!group> <!here|@here>');
    expect(out.body).toBe('@here @channel @everyone @channel @here');
    expect(out.formatted_body).toBeUndefined();
    expect(JSON.stringify(out)).not.toContain('@room');
  });

  it('renders user groups by handle', () => {
    expect(fromText('<!subteam^S0AAA0001|@devs> <!subteam^S1>').body).toBe('@devs @usergroup');
  });

  it('renders dates as their fallback, and unknown commands as label or <name>', () => {
    expect(
      fromText('<!date^1392734382^{date_short} at {time}|Feb 18, 2014> <!foo> <!bar|Bar>').body,
    ).toBe('Feb 18, 2014 <foo> Bar');
  });

  it('renders bold, italic and strike, including nesting', () => {
    expect(fromText('*bold _both_* _it_ ~gone~').formatted_body).toBe(
      '<strong>bold <em>both</em></strong> <em>it</em> <del>gone</del>',
    );
  });

  it('keeps code spans verbatim: mentions inside are not converted', () => {
    const out = fromText('`<@U1> &amp; *x*` <@U1>');
    expect(out.formatted_body).toBe(`<code>&lt;@U1&gt; &amp; *x*</code> ${ADA}`);
    expect(out.body).toBe('`<@U1> & *x*` Ada');
    expect(out.mentionedUserIds).toEqual(['@ada:example.org']);
  });

  it('renders code blocks as pre/code without converting mentions', () => {
    const out = fromText('before\n```\nif (a &lt; b) <@U1>\n```\nafter');
    expect(out.formatted_body).toBe('before<pre><code>if (a &lt; b) &lt;@U1&gt;</code></pre>after');
    expect(out.body).toBe('before\n```\nif (a < b) <@U1>\n```\nafter');
    expect(out.mentionedUserIds).toEqual([]);
  });

  it('renders > quote lines as a blockquote', () => {
    const out = fromText('&gt; first\n&gt; *second*\nnot quoted');
    expect(out.formatted_body).toBe(
      '<blockquote>first<br /><strong>second</strong></blockquote>not quoted',
    );
    expect(out.body).toBe('> first\n> second\nnot quoted');
  });

  it('renders >>> as a quote of the rest of the message', () => {
    expect(fromText('&gt;&gt;&gt; all\nof this').formatted_body).toBe(
      '<blockquote>all<br />of this</blockquote>',
    );
  });

  it('renders links with and without labels', () => {
    const out = fromText('<https://a.example/x?q=1&amp;r=2|the run> <https://b.example>');
    expect(out.formatted_body).toBe(
      '<a href="https://a.example/x?q=1&amp;r=2">the run</a> <a href="https://b.example">https://b.example</a>',
    );
    expect(out.body).toBe('the run (https://a.example/x?q=1&r=2) https://b.example');
  });

  it('shows the URL in the body when the label is just the URL without its scheme', () => {
    expect(fromText('<https://example.com|example.com>').body).toBe('https://example.com');
  });

  it('keeps mailto links', () => {
    const out = fromText('<mailto:ada@example.org|ada@example.org>');
    expect(out.formatted_body).toBe('<a href="mailto:ada@example.org">ada@example.org</a>');
    expect(out.body).toBe('ada@example.org');
  });

  it('drops javascript: and other unsafe link targets, keeping the label as text', () => {
    const out = fromText('<javascript:alert(1)|click me> <data:text/html,x>');
    expect(out.formatted_body).toBeUndefined();
    expect(out.body).toBe('click me data:text/html,x');
  });

  it('replaces :shortcode: emoji, including skin tones, and keeps unknown ones', () => {
    expect(fromText(':wave::skin-tone-3: :+1: :partyparrot: at 10:30:45').body).toBe(
      '\u{1F44B}\u{1F3FC} \u{1F44D} :partyparrot: at 10:30:45',
    );
  });

  it('shows custom emoji with an uploaded image inline, :name: in the body', () => {
    const out = slackMessageToMatrix(
      { text: 'party :partyparrot: *now* :partyparrot:' },
      withEmoji,
    );
    expect(out.body).toBe('party :partyparrot: now :partyparrot:');
    expect(out.formatted_body).toBe(`party ${PARROT} <strong>now</strong> ${PARROT}`);
    expect(out.format).toBe('org.matrix.custom.html');
  });

  it('gives an emoji-only message a formatted_body', () => {
    const out = slackMessageToMatrix({ text: ':partyparrot:' }, withEmoji);
    expect(out).toEqual({
      body: ':partyparrot:',
      formatted_body: PARROT,
      format: 'org.matrix.custom.html',
      mentionedUserIds: [],
    });
  });

  it('renders custom aliases of standard emoji as that emoji, unknown names as :name:', () => {
    const out = slackMessageToMatrix({ text: ':thumbs: :nobody: :badalias: :+1:' }, withEmoji);
    expect(out).toEqual({
      body: '\u{1F44D} :nobody: :badalias: \u{1F44D}',
      mentionedUserIds: [],
    });
  });

  it('never renders a non-mxc image, and leaves code spans and blocks alone', () => {
    const out = slackMessageToMatrix(
      { text: ':badimage: `:partyparrot:`\n```:partyparrot:```' },
      withEmoji,
    );
    expect(out.body).toBe(':badimage: `:partyparrot:`\n```\n:partyparrot:\n```');
    expect(out.formatted_body).toBe(
      ':badimage: <code>:partyparrot:</code><pre><code>:partyparrot:</code></pre>',
    );
  });

  it('keeps custom emoji as :name: without a customEmoji lookup', () => {
    expect(fromText(':partyparrot: :thumbs:')).toEqual({
      body: ':partyparrot: :thumbs:',
      mentionedUserIds: [],
    });
  });

  it('uses custom emoji in attachments and quotes too', () => {
    const out = slackMessageToMatrix(
      { text: '&gt; :partyparrot:', attachments: [{ text: 'hi :partyparrot:' }] },
      withEmoji,
    );
    expect(out.formatted_body).toBe(
      `<blockquote>${PARROT}</blockquote><blockquote>hi ${PARROT}</blockquote>`,
    );
  });

  it('escapes HTML injection attempts', () => {
    const out = fromText(
      '&lt;script&gt;alert(1)&lt;/script&gt; <https://x.example|" onerror="alert(1)> <script>',
    );
    expect(out.formatted_body).toBe(
      '&lt;script&gt;alert(1)&lt;/script&gt; <a href="https://x.example">" onerror="alert(1)</a> script',
    );
    expect(out.formatted_body).not.toMatch(/<script|<a [^>]*onerror/);
  });

  it('escapes display names and never lets them add attributes', () => {
    const evil: MentionResolver = {
      user: () => ({ mxid: '@e:x', displayName: '"><img src=x onerror=alert(1)>' }),
      channel: () => undefined,
    };
    const out = slackMessageToMatrix({ text: '<@U1>' }, evil);
    expect(out.formatted_body).toBe(
      '<a href="https://matrix.to/#/@e:x">"&gt;&lt;img src=x onerror=alert(1)&gt;</a>',
    );
  });

  it('handles missing and empty text', () => {
    expect(slackMessageToMatrix({}, resolver)).toEqual({ body: '', mentionedUserIds: [] });
    expect(slackMessageToMatrix({ text: '', blocks: null, attachments: null }, resolver)).toEqual({
      body: '',
      mentionedUserIds: [],
    });
  });
});

describe('rich_text blocks', () => {
  it('are preferred over text, with styles, links, mentions and unescaped text', () => {
    const out = richText(
      section(
        t('Done & green, '),
        { type: 'link', url: 'https://ci.example/42', text: 'run 42' },
        t(' '),
        { type: 'user', user_id: 'U1' },
        t(' bold ', { bold: true }),
        t('code', { code: true }),
        t(' both', { bold: true, italic: true }),
        t(' gone', { strike: true }),
      ),
    );
    expect(out.formatted_body).toBe(
      `Done &amp; green, <a href="https://ci.example/42">run 42</a> ${ADA} <strong>bold</strong> <code>code</code> <strong><em>both</em></strong> <del>gone</del>`,
    );
    expect(out.body).toBe('Done & green, run 42 (https://ci.example/42) Ada bold `code` both gone');
    expect(out.mentionedUserIds).toEqual(['@ada:example.org']);
  });

  it('does not decode entities in rich text (it is not escaped)', () => {
    expect(richText(section(t('&amp;'))).body).toBe('&amp;');
  });

  it('turns newlines into <br>', () => {
    expect(richText(section(t('a\nb', { italic: true }))).formatted_body).toBe('<em>a<br />b</em>');
  });

  it('nests bullet lists by indent and continues the outer list afterwards', () => {
    const out = richText(
      section(t('List:\n')),
      list('bullet', 0, ['a', 'b']),
      list('bullet', 1, ['b1']),
      list('bullet', 2, ['b1x']),
      list('bullet', 0, ['c']),
      section(t('after')),
    );
    expect(out.formatted_body).toBe(
      'List:<ul><li>a</li><li>b<ul><li>b1<ul><li>b1x</li></ul></li></ul></li><li>c</li></ul>after',
    );
    expect(out.body).toBe('List:\n- a\n- b\n  - b1\n    - b1x\n- c\nafter');
  });

  it('renders ordered lists, honouring offset for a new list', () => {
    const continued = richText(
      list('ordered', 0, ['one', 'two']),
      list('bullet', 1, ['sub']),
      list('ordered', 0, ['three'], 2),
    );
    expect(continued.formatted_body).toBe(
      '<ol><li>one</li><li>two<ul><li>sub</li></ul></li><li>three</li></ol>',
    );
    expect(continued.body).toBe('1. one\n2. two\n  - sub\n3. three');
    const offset = richText(list('ordered', 0, ['three'], 2));
    expect(offset.formatted_body).toBe('<ol start="3"><li>three</li></ol>');
    expect(offset.body).toBe('3. three');
  });

  it('renders preformatted as pre/code (with language) and quotes as blockquote', () => {
    const out = richText(
      { type: 'rich_text_preformatted', language: 'ts', elements: [t('const a = 1 < 2;\n<@U1>')] },
      { type: 'rich_text_quote', elements: [t('quoted\nline')] },
    );
    expect(out.formatted_body).toBe(
      '<pre><code class="language-ts">const a = 1 &lt; 2;\n&lt;@U1&gt;</code></pre><blockquote>quoted<br />line</blockquote>',
    );
    expect(out.body).toBe('```\nconst a = 1 < 2;\n<@U1>\n```\n> quoted\n> line');
  });

  it('renders emoji from unicode, skin tone, shortcode or :name:', () => {
    const out = richText(
      section(
        { type: 'emoji', name: 'wave', unicode: '1f44b-1f3fc', skin_tone: 3 },
        { type: 'emoji', name: '+1', skin_tone: 2 },
        { type: 'emoji', name: 'tada' },
        { type: 'emoji', name: 'partyparrot' },
      ),
    );
    expect(out.body).toBe('\u{1F44B}\u{1F3FC}\u{1F44D}\u{1F3FB}\u{1F389}:partyparrot:');
  });

  it('renders custom emoji elements as inline images or their alias, styled like text', () => {
    const out = slackMessageToMatrix(
      {
        text: 'ignored',
        blocks: [
          {
            type: 'rich_text',
            elements: [
              section(
                t('go '),
                { type: 'emoji', name: 'partyparrot' },
                t(' '),
                { type: 'emoji', name: 'partyparrot', style: { bold: true } },
                t(' '),
                { type: 'emoji', name: 'thumbs' },
                { type: 'emoji', name: 'thumbs', skin_tone: 2 },
                { type: 'emoji', name: 'nobody' },
                { type: 'emoji', name: 'tada' },
              ),
            ],
          },
        ],
      },
      withEmoji,
    );
    // Custom emoji have no skin tones: a tone on an alias is ignored.
    expect(out.body).toBe('go :partyparrot: :partyparrot: \u{1F44D}\u{1F44D}:nobody:\u{1F389}');
    expect(out.formatted_body).toBe(
      `go ${PARROT} <strong>${PARROT}</strong> \u{1F44D}\u{1F44D}:nobody:\u{1F389}`,
    );
  });

  it('shows custom emoji in code blocks as :name:', () => {
    const out = slackMessageToMatrix(
      {
        blocks: [
          {
            type: 'rich_text',
            elements: [
              {
                type: 'rich_text_preformatted',
                elements: [t('x '), { type: 'emoji', name: 'partyparrot' }],
              },
            ],
          },
        ],
      },
      withEmoji,
    );
    expect(out.formatted_body).toBe('<pre><code>x :partyparrot:</code></pre>');
  });

  it('renders broadcast, usergroup, date, channel and unknown users', () => {
    const out = richText(
      section(
        { type: 'broadcast', range: 'everyone' },
        t(' '),
        { type: 'usergroup', usergroup_id: 'S1' },
        t(' '),
        { type: 'date', timestamp: 1700000000, format: '{date}', fallback: 'Nov 14' },
        t(' '),
        { type: 'channel', channel_id: 'C1' },
        t(' '),
        { type: 'user', user_id: 'U404' },
      ),
    );
    expect(out.body).toBe(
      '@everyone @usergroup Nov 14 #general (https://matrix.to/#/#general:example.org) @U404',
    );
    expect(out.body).not.toContain('@room');
    expect(out.mentionedUserIds).toEqual([]);
  });

  it('degrades unknown elements and containers to their text, never throwing', () => {
    const out = richText(
      section(t('a '), { type: 'hologram', text: 'holo' }, { type: 'nothing' }, 'junk', null),
      { type: 'rich_text_mystery', elements: [t('mystery')] },
    );
    expect(out.body).toBe('a holo\nmystery');
  });
});

describe('bot blocks', () => {
  it('renders header, divider, section (mrkdwn + fields), context, image and actions', () => {
    const out = slackMessageToMatrix(
      {
        text: 'fallback',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'Release :tada: <b>' } },
          { type: 'divider' },
          {
            type: 'section',
            text: { type: 'mrkdwn', text: '*Status*: ok &amp; <https://x.example|details>' },
            fields: [{ type: 'plain_text', text: 'plain *not bold*' }],
          },
          {
            type: 'context',
            elements: [
              { type: 'mrkdwn', text: 'by <@U1>' },
              { type: 'image', image_url: 'https://img.example/i.png', alt_text: 'logo' },
            ],
          },
          { type: 'image', image_url: 'https://img.example/chart.png', alt_text: 'chart' },
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                text: { type: 'plain_text', text: 'Open' },
                url: 'https://open.example',
              },
              { type: 'button', text: { type: 'plain_text', text: 'Ack' }, value: 'ack' },
            ],
          },
        ],
      },
      resolver,
    );
    expect(out.formatted_body).toBe(
      '<h3>Release \u{1F389} &lt;b&gt;</h3><hr />' +
        '<strong>Status</strong>: ok &amp; <a href="https://x.example">details</a><br />plain *not bold*<br />' +
        `by ${ADA} logo<br />` +
        '<a href="https://img.example/chart.png">chart</a><br />' +
        '<a href="https://open.example">Open</a> | Ack',
    );
    expect(out.body).toBe(
      'Release \u{1F389} <b>\n---\nStatus: ok & details (https://x.example)\nplain *not bold*\nby Ada logo\n' +
        'chart (https://img.example/chart.png)\nOpen (https://open.example) | Ack',
    );
    expect(out.mentionedUserIds).toEqual(['@ada:example.org']);
  });

  it('degrades unknown block types to their text or fallback', () => {
    const out = slackMessageToMatrix(
      {
        text: 'fallback',
        blocks: [
          { type: 'future_block', text: { type: 'mrkdwn', text: '_future_' } },
          { type: 'other_block', fallback: 'other fallback' },
          { type: 'opaque_block', id: 1 },
          'not a block',
        ],
      },
      resolver,
    );
    expect(out.formatted_body).toBe('<em>future</em><br />other fallback');
  });

  it('falls back to text when the blocks yield nothing visible', () => {
    const out = slackMessageToMatrix(
      {
        text: 'This content can&#39;t be displayed &amp; more',
        blocks: [{ type: 'file', external_id: 'x' }],
      },
      resolver,
    );
    expect(out.body).toBe('This content can&#39;t be displayed & more');
  });
});

describe('legacy attachments', () => {
  it('renders pretext above a quote with author, linked title, text, fields, image and footer', () => {
    const out = slackMessageToMatrix(
      {
        text: 'see <@U1>',
        attachments: [
          {
            fallback: 'unused fallback',
            pretext: 'New *PR*',
            author_name: 'GitHub',
            title: 'Fix <bug>',
            title_link: 'https://gh.example/pr/1',
            text: 'Fixes &lt;crash&gt;',
            fields: [{ title: 'Status', value: '_open_', short: true }],
            image_url: 'https://img.example/p.png',
            footer: 'gh-bot',
          },
        ],
      },
      resolver,
    );
    expect(out.formatted_body).toBe(
      `see ${ADA}<br />New <strong>PR</strong><blockquote>GitHub<br />` +
        '<strong><a href="https://gh.example/pr/1">Fix &lt;bug&gt;</a></strong><br />' +
        'Fixes &lt;crash&gt;<br /><strong>Status</strong>: <em>open</em><br />' +
        '<a href="https://img.example/p.png">https://img.example/p.png</a><br />gh-bot</blockquote>',
    );
    expect(out.body).toBe(
      'see Ada\nNew PR\n> GitHub\n> Fix <bug> (https://gh.example/pr/1)\n> Fixes <crash>\n> Status: open\n' +
        '> https://img.example/p.png\n> gh-bot',
    );
    expect(out.body).not.toContain('unused fallback');
  });

  it('uses the fallback when nothing else is usable', () => {
    const out = slackMessageToMatrix(
      {
        text: '',
        attachments: [{ fallback: 'Shared: <https://x.example|a doc>', color: 'ff0000' }],
      },
      resolver,
    );
    expect(out.formatted_body).toBe(
      '<blockquote>Shared: <a href="https://x.example">a doc</a></blockquote>',
    );
  });

  it('skips attachments with nothing to show and ignores malformed ones', () => {
    const out = slackMessageToMatrix(
      { text: 'hi', attachments: [{ color: 'ff0000' }, null, 'x', { title_link: 'javascript:x' }] },
      resolver,
    );
    expect(out).toEqual({ body: 'hi', mentionedUserIds: [] });
  });

  it('drops unsafe title links but keeps the title', () => {
    const out = slackMessageToMatrix(
      { attachments: [{ title: 'T', title_link: 'javascript:alert(1)' }] },
      resolver,
    );
    expect(out.formatted_body).toBe('<blockquote><strong>T</strong></blockquote>');
  });
});
