//! An enterprise's profile (企情分析) from its facts.
