"""Coverage reports (issue 27): what a spa could not safely offer and what schools should
teach. ``report`` holds the figures and their rules (pure), ``selectors`` reads them in a fixed
number of queries, ``charts`` lays them out as SVG for the pages."""
