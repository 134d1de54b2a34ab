"""Text as each network counts it.

- :mod:`cmctl.text.units`: UTF-8 bytes, UTF-16 code units, grapheme clusters;
- :mod:`cmctl.text.entities`: URLs, mentions and hashtags, with UTF-8 byte spans;
- :mod:`cmctl.text.twitter`: X's weighted length (twitter-text config v3);
- :mod:`cmctl.text.mastodon`: Mastodon's status length.

Nothing is imported here, so importing one of them costs only what it needs.
"""
