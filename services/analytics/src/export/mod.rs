//! Documents of the figures: CSV, and Markdown or HTML reports for the periodic report to leaders.
