//! Text analysis for the similar-demand engine: how a Chinese text becomes the terms the index and the
//! scorer compare.
//!
//! 1. **Normalisation**: full-width forms folded to half-width (ＡＢＣ１２３ → abc123, the ideographic
//!    space to a space), Latin letters lower-cased, common traditional characters to simplified ones
//!    (貸款 → 贷款), Chinese numerals before a measure word to digits (三天 → 3天, 两个 → 2个), digit
//!    grouping dropped (1,000 → 1000), masked digits (`***`) to one placeholder, and every other
//!    punctuation mark or symbol to a break.
//! 2. **Segmentation** into words with jieba (its dictionary and HMM for unknown words), each word
//!    tagged with its part of speech; function words (particles, pronouns, prepositions, conjunctions)
//!    and a list of stop words carry no weight.
//! 3. **Terms**: content words, their domain synonym class (贷款/融资/信贷 share one), the Chinese
//!    characters of content words, and character bigrams within each run of text; plus the numbers,
//!    the kind of question asked (how, why, when, how much…) and negation, which the scorer compares
//!    separately.

use std::collections::HashMap;
use std::sync::OnceLock;

use jieba_rs::Jieba;

/// Longest text analysed, in characters; the rest of a very long demand adds nothing to finding its
/// duplicates and would only slow the index down.
pub const MAX_ANALYSED_CHARS: usize = 600;

/// The kind of a term, which sets its weight and which features it counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TermKind {
    /// A content word from segmentation, e.g. 融资.
    Word = 0,
    /// A domain synonym class, e.g. the class of 贷款/融资/信贷.
    Synonym = 1,
    /// One Chinese character of a content word.
    Char = 2,
    /// Two adjacent characters within a run of text.
    Bigram = 3,
}

impl TermKind {
    /// All kinds, in order.
    pub const ALL: [TermKind; 4] = [TermKind::Word, TermKind::Synonym, TermKind::Char, TermKind::Bigram];

    fn prefix(self) -> char {
        match self {
            Self::Word => 'w',
            Self::Synonym => 's',
            Self::Char => 'c',
            Self::Bigram => 'b',
        }
    }

    /// The kind of an encoded term.
    pub fn of(term: &str) -> Option<Self> {
        match term.chars().next()? {
            'w' => Some(Self::Word),
            's' => Some(Self::Synonym),
            'c' => Some(Self::Char),
            'b' => Some(Self::Bigram),
            _ => None,
        }
    }
}

/// Encodes a term as its kind's prefix followed by its text: `w融资`, `b融资`, `c融`.
pub fn encode(kind: TermKind, text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 1);
    s.push(kind.prefix());
    s.push_str(text);
    s
}

/// The text of an encoded term, without its kind.
pub fn term_text(term: &str) -> &str {
    term.char_indices().nth(1).map_or("", |(i, _)| &term[i..])
}

/// What a question asks for (怎么 / 为什么 / 多少…), as bits: two texts asking different things about
/// the same subject are different requests.
pub mod intent {
    /// How to do something (怎么, 如何, 怎样).
    pub const HOW: u16 = 1;
    /// Why (为什么, 为啥, 为何).
    pub const WHY: u16 = 1 << 1;
    /// When (什么时候, 何时, 几时).
    pub const WHEN: u16 = 1 << 2;
    /// How long (多久, 多长时间).
    pub const HOW_LONG: u16 = 1 << 3;
    /// Where (哪里, 哪儿, 在哪).
    pub const WHERE: u16 = 1 << 4;
    /// How much or how many (多少, 几).
    pub const HOW_MUCH: u16 = 1 << 5;
    /// What (什么, 啥).
    pub const WHAT: u16 = 1 << 6;
    /// Which or who (哪个, 谁).
    pub const WHICH: u16 = 1 << 7;
    /// Whether (能不能, 是否, 可以吗, 吗).
    pub const WHETHER: u16 = 1 << 8;
    /// How good (怎么样, 好不好).
    pub const HOW_GOOD: u16 = 1 << 9;
}

/// Question phrases, longest first, with what they ask.
const INTENT_PHRASES: &[(&str, u16)] = &[
    ("多长时间", intent::HOW_LONG),
    ("什么时候", intent::WHEN),
    ("怎么回事", intent::WHY),
    ("怎么样", intent::HOW_GOOD),
    ("好不好", intent::HOW_GOOD),
    ("能不能", intent::WHETHER),
    ("可不可以", intent::WHETHER),
    ("是不是", intent::WHETHER),
    ("有没有", intent::WHETHER),
    ("为什么", intent::WHY),
    ("多少", intent::HOW_MUCH),
    ("多久", intent::HOW_LONG),
    ("怎么", intent::HOW),
    ("如何", intent::HOW),
    ("怎样", intent::HOW),
    ("为啥", intent::WHY),
    ("为何", intent::WHY),
    ("何时", intent::WHEN),
    ("几时", intent::WHEN),
    ("哪里", intent::WHERE),
    ("哪儿", intent::WHERE),
    ("在哪", intent::WHERE),
    ("哪个", intent::WHICH),
    ("哪家", intent::WHICH),
    ("是否", intent::WHETHER),
    ("能否", intent::WHETHER),
    ("什么", intent::WHAT),
    ("咋", intent::HOW),
    ("啥", intent::WHAT),
    ("谁", intent::WHICH),
    ("几", intent::HOW_MUCH),
    ("吗", intent::WHETHER),
];

/// Words that negate what follows.
const NEGATIONS: &[&str] = &["不", "没", "没有", "未", "无法", "不能", "不会", "不可以", "不了", "别", "不让", "不予"];

/// Words with 不 or 没 that do not negate.
const NOT_NEGATIONS: &[&str] =
    &["不错", "不过", "不断", "不少", "不仅", "不但", "不管", "不论", "不久", "差不多", "不得不", "要不", "不然"];

/// Whether a word negates what follows (不能, 没有, 还没, 未能…).
fn negates(word: &str) -> bool {
    NEGATIONS.contains(&word)
        || (word.contains('不') || word.contains('没')) && !NOT_NEGATIONS.contains(&word)
        || matches!(word, "尚未" | "未能" | "未予" | "未曾" | "从未")
}

/// Words that carry no meaning of their own in a demand or a question, beyond what the
/// part-of-speech tags already exclude.
const STOP_WORDS: &[&str] = &[
    "的",
    "了",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "么",
    "嘛",
    "哦",
    "哈",
    "啦",
    "呗",
    "哇",
    "嗯",
    "额",
    "是",
    "我",
    "你",
    "您",
    "他",
    "她",
    "它",
    "我们",
    "你们",
    "他们",
    "咱们",
    "在",
    "和",
    "与",
    "及",
    "或",
    "就",
    "都",
    "也",
    "还",
    "要",
    "会",
    "能",
    "可以",
    "请问",
    "请",
    "一下",
    "这个",
    "那个",
    "这",
    "那",
    "得",
    "地",
    "着",
    "过",
    "被",
    "把",
    "给",
    "让",
    "对",
    "从",
    "到",
    "向",
    "有",
    "又",
    "很",
    "太",
    "更",
    "最",
    "再",
    "才",
    "已",
    "已经",
    "一个",
    "一些",
    "这样",
    "那样",
    "这种",
    "那种",
    "自己",
    "大家",
    "现在",
    "为",
    "而",
    "并",
    "等",
    "啊",
    "呢",
    "谢谢",
    "麻烦",
    "帮忙",
    "一直",
    "时候",
    "怎么",
    "如何",
    "怎样",
    "什么",
    "为什么",
    "为啥",
    "多少",
    "哪里",
    "哪儿",
    "哪个",
    "是否",
    "能否",
    "能不能",
    "可不可以",
    "是不是",
    "有没有",
    "怎么样",
    "多久",
    "咋",
    "啥",
    "谁",
    "几",
];

/// Part-of-speech tags (jieba's, from the People's Daily set) of words without content of their own:
/// particles, pronouns, prepositions, conjunctions, auxiliaries, interjections, modal particles,
/// onomatopoeia and punctuation.
fn is_function_tag(tag: &str) -> bool {
    tag == "e" || matches!(tag.chars().next(), Some('u' | 'r' | 'p' | 'c' | 'y' | 'o' | 'x' | 'w'))
}

/// Domain synonym classes: words in one class ask for the same thing in an enterprise's demand. The
/// first word names the class.
const SYNONYMS: &[&[&str]] = &[
    &["贷款", "融资", "信贷", "借款", "借贷", "贷"],
    &["利率", "利息", "息费", "贷款利率"],
    &["补贴", "补助", "资助", "奖补", "扶持资金", "补贴资金"],
    &["审批", "审核", "批复", "审查", "核准"],
    &["手续", "流程", "程序", "环节"],
    &["用地", "土地", "地块"],
    &["物流", "运输", "货运", "运力"],
    &["专利", "知识产权"],
    &["用工", "招工", "招聘", "缺工", "用人"],
    &["人才", "高层次人才", "技术人才"],
    &["税", "税费", "税收", "税务", "纳税"],
    &["减税", "减免", "退税", "免税"],
    &["慢", "缓慢", "太慢", "拖延", "周期长"],
    &["贵", "偏高", "太高", "过高", "高昂"],
    &["降低", "下调", "减少", "减轻"],
    &["提高", "提升", "增加", "上调", "提额"],
    &["额度", "限额"],
    &["还款", "还钱", "还贷", "偿还"],
    &["逾期", "拖欠", "欠款"],
    &["开通", "开启", "启用"],
    &["关闭", "取消", "注销", "停用"],
    &["钱", "资金", "款项"],
    &["电费", "电价", "用电成本"],
    &["停车", "停车位", "车位"],
    &["港口", "码头", "港区"],
    &["渔船", "船舶", "船只"],
    &["政策", "规定", "文件"],
    &["办理", "申办", "申请"],
];

/// Common traditional characters and their simplified forms.
const TRADITIONAL: &[(char, char)] = &[
    ('貸', '贷'),
    ('資', '资'),
    ('稅', '税'),
    ('費', '费'),
    ('補', '补'),
    ('貼', '贴'),
    ('業', '业'),
    ('請', '请'),
    ('問', '问'),
    ('麼', '么'),
    ('這', '这'),
    ('個', '个'),
    ('為', '为'),
    ('還', '还'),
    ('進', '进'),
    ('過', '过'),
    ('時', '时'),
    ('們', '们'),
    ('會', '会'),
    ('對', '对'),
    ('說', '说'),
    ('來', '来'),
    ('後', '后'),
    ('從', '从'),
    ('於', '于'),
    ('與', '与'),
    ('無', '无'),
    ('實', '实'),
    ('現', '现'),
    ('經', '经'),
    ('濟', '济'),
    ('發', '发'),
    ('開', '开'),
    ('關', '关'),
    ('門', '门'),
    ('間', '间'),
    ('題', '题'),
    ('難', '难'),
    ('辦', '办'),
    ('處', '处'),
    ('應', '应'),
    ('當', '当'),
    ('點', '点'),
    ('錢', '钱'),
    ('銀', '银'),
    ('行', '行'),
    ('費', '费'),
    ('額', '额'),
    ('度', '度'),
    ('號', '号'),
    ('碼', '码'),
    ('頭', '头'),
    ('車', '车'),
    ('運', '运'),
    ('輸', '输'),
    ('貨', '货'),
    ('電', '电'),
    ('話', '话'),
    ('網', '网'),
    ('絡', '络'),
    ('機', '机'),
    ('構', '构'),
    ('產', '产'),
    ('權', '权'),
    ('專', '专'),
    ('學', '学'),
    ('習', '习'),
    ('務', '务'),
    ('員', '员'),
    ('單', '单'),
    ('位', '位'),
    ('區', '区'),
    ('縣', '县'),
    ('鎮', '镇'),
    ('鄉', '乡'),
    ('場', '场'),
    ('廠', '厂'),
    ('頁', '页'),
    ('據', '据'),
    ('號', '号'),
    ('萬', '万'),
    ('億', '亿'),
    ('買', '买'),
    ('賣', '卖'),
    ('價', '价'),
    ('錄', '录'),
    ('記', '记'),
    ('認', '认'),
    ('證', '证'),
    ('書', '书'),
    ('訊', '讯'),
    ('設', '设'),
    ('計', '计'),
    ('劃', '划'),
    ('規', '规'),
    ('則', '则'),
    ('標', '标'),
    ('準', '准'),
    ('務', '务'),
    ('營', '营'),
    ('環', '环'),
    ('境', '境'),
    ('擇', '择'),
    ('決', '决'),
    ('條', '条'),
    ('件', '件'),
    ('協', '协'),
    ('議', '议'),
    ('調', '调'),
    ('節', '节'),
    ('質', '质'),
    ('量', '量'),
    ('長', '长'),
    ('東', '东'),
    ('風', '风'),
    ('險', '险'),
    ('擔', '担'),
    ('保', '保'),
    ('優', '优'),
    ('惠', '惠'),
    ('勞', '劳'),
    ('動', '动'),
    ('聯', '联'),
    ('繫', '系'),
    ('係', '系'),
    ('變', '变'),
    ('舊', '旧'),
    ('新', '新'),
    ('幾', '几'),
    ('麽', '么'),
    ('嗎', '吗'),
    ('沒', '没'),
    ('怎', '怎'),
    ('樣', '样'),
    ('裡', '里'),
    ('裏', '里'),
    ('哪', '哪'),
    ('讓', '让'),
    ('給', '给'),
    ('見', '见'),
    ('聽', '听'),
    ('寫', '写'),
    ('讀', '读'),
    ('選', '选'),
    ('漁', '渔'),
    ('船', '船'),
    ('港', '港'),
    ('灣', '湾'),
    ('島', '岛'),
    ('舟', '舟'),
    ('遠', '远'),
    ('帶', '带'),
];

/// Characters that count a quantity after a numeral (个, 天, 年…): a numeral before one of them is a
/// number, not part of a word.
const MEASURE_CHARS: &str = "个天年月日号次元家件条人位名辆台套座亩吨岁层楼期批项户间所周小时秒级倍成季度轮笔张份台艘";

static JIEBA: OnceLock<Jieba> = OnceLock::new();

/// The segmenter, loaded on first use (its dictionary takes a few tens of megabytes).
fn jieba() -> &'static Jieba {
    JIEBA.get_or_init(Jieba::new)
}

/// Loads the segmenter now rather than on the first text analysed.
pub fn warm_up() {
    let _ = jieba();
}

fn synonym_index() -> &'static HashMap<&'static str, &'static str> {
    static INDEX: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map = HashMap::new();
        for class in SYNONYMS {
            for word in class.iter() {
                map.entry(*word).or_insert(class[0]);
            }
        }
        map
    })
}

fn stop_words() -> &'static std::collections::HashSet<&'static str> {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.iter().copied().collect())
}

fn traditional_map() -> &'static HashMap<char, char> {
    static MAP: OnceLock<HashMap<char, char>> = OnceLock::new();
    MAP.get_or_init(|| TRADITIONAL.iter().copied().collect())
}

/// The words of a text in order, as segmentation cuts it (punctuation included), each with whether it
/// is a content word (not a stop word, not a function word, not a number).
pub fn words(raw: &str) -> Vec<(String, bool)> {
    let stop = stop_words();
    jieba()
        .tag(raw, true)
        .into_iter()
        .map(|t| {
            let content = !stop.contains(t.word)
                && !is_function_tag(t.tag)
                && t.word.chars().any(is_cjk)
                && !t.word.chars().all(|c| c.is_ascii_digit());
            (t.word.to_owned(), content)
        })
        .collect()
}

/// The domain synonym class of a word (all its members, the class name first), if it has one.
pub fn synonym_class(word: &str) -> Option<&'static [&'static str]> {
    SYNONYMS.iter().find(|class| class.contains(&word)).copied()
}

/// Question phrases with the same intent as `phrase` (怎么 → 如何, 怎样…), `phrase` excluded.
pub fn same_intent(phrase: &str) -> Vec<&'static str> {
    let Some(&(_, bits)) = INTENT_PHRASES.iter().find(|(p, _)| *p == phrase) else { return Vec::new() };
    INTENT_PHRASES.iter().filter(|(p, b)| *b == bits && *p != phrase).map(|(p, _)| *p).collect()
}

/// Question phrases asking something else than `phrase` (怎么 → 为什么, 多少…).
pub fn other_intents(phrase: &str) -> Vec<&'static str> {
    let Some(&(_, bits)) = INTENT_PHRASES.iter().find(|(p, _)| *p == phrase) else { return Vec::new() };
    INTENT_PHRASES.iter().filter(|(p, b)| *b & bits == 0 && p.chars().count() > 1).map(|(p, _)| *p).collect()
}

/// Whether `c` is a CJK ideograph.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Placeholder of a masked or elided number (`***`).
pub const MASK: char = '#';

/// Folds full-width forms, case, traditional characters and punctuation (see the module
/// documentation); every break becomes one space. Numerals are converted by [`normalise`].
fn fold(raw: &str) -> Vec<char> {
    let traditional = traditional_map();
    let mut out: Vec<char> = Vec::with_capacity(raw.len() / 2);
    let chars: Vec<char> = raw.chars().take(MAX_ANALYSED_CHARS * 2).collect();
    let mut i = 0;
    while i < chars.len() {
        let mut c = chars[i];
        if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
            c = char::from_u32(c as u32 - 0xFEE0).unwrap_or(c);
        } else if c == '\u{3000}' {
            c = ' ';
        }
        let c = traditional.get(&c).copied().unwrap_or(c).to_lowercase().next().unwrap_or(c);
        if c == '*' || c == '＊' || c == 'x' && out.last() == Some(&MASK) {
            if out.last() != Some(&MASK) {
                out.push(MASK);
            }
        } else if (c == ',' || c == '.') && out.last().is_some_and(char::is_ascii_digit) {
            // 1,000 and 2.5: grouping dropped, the decimal point kept, when a digit follows.
            let next = chars.get(i + 1).map(|&n| if ('\u{FF10}'..='\u{FF19}').contains(&n) { '0' } else { n });
            if next.is_some_and(|n| n.is_ascii_digit()) {
                if c == '.' {
                    out.push('.');
                }
            } else if out.last() != Some(&' ') {
                out.push(' ');
            }
        } else if c.is_alphanumeric() {
            out.push(c);
        } else if out.last().is_some_and(|&l| l != ' ') {
            out.push(' ');
        }
        i += 1;
    }
    while out.last() == Some(&' ') {
        out.pop();
    }
    out
}

/// The value of a Chinese numeral such as 二十三, 两千, 十五 or 三百五十; `None` if `s` is not one.
fn chinese_numeral(s: &[char]) -> Option<u64> {
    let digit =
        |c: char| "零一二三四五六七八九".chars().position(|d| d == c).map(|v| v as u64).or((c == '两').then_some(2));
    let mut total = 0u64;
    let mut section = 0u64;
    let mut current: Option<u64> = None;
    for &c in s {
        if let Some(d) = digit(c) {
            if current.is_some() && d != 0 {
                return None;
            }
            current = Some(d);
            continue;
        }
        let unit = match c {
            '十' => 10,
            '百' => 100,
            '千' => 1000,
            '万' => 10_000,
            _ => return None,
        };
        let n = match current.take() {
            Some(n) => n,
            None if unit == 10 => 1,
            None => return None,
        };
        if unit == 10_000 {
            total += (section + n) * unit;
            section = 0;
        } else {
            section += n * unit;
        }
    }
    Some(total + section + current.unwrap_or(0))
}

/// Converts Chinese numerals before a measure word to digits (三天 → 3天), leaving a lone 一 (一下,
/// 一直) and numerals inside words alone.
fn convert_numerals(chars: Vec<char>) -> Vec<char> {
    const NUMERAL: &str = "零一二两三四五六七八九十百千万";
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if NUMERAL.contains(chars[i]) {
            let start = i;
            while i < chars.len() && NUMERAL.contains(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            let measured = chars.get(i).is_some_and(|&n| MEASURE_CHARS.contains(n));
            let lone_one = run.len() == 1 && matches!(run[0], '一' | '零' | '万' | '千' | '百');
            let after_digit = start > 0 && chars[start - 1].is_ascii_digit();
            match chinese_numeral(run) {
                Some(value) if measured && !lone_one && !after_digit => out.extend(value.to_string().chars()),
                _ => out.extend_from_slice(run),
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The normalised form of `raw` (see the module documentation): what the engine reads, and what two
/// texts that differ only in form have in common.
pub fn normalise(raw: &str) -> String {
    let chars = convert_numerals(fold(raw));
    chars.into_iter().take(MAX_ANALYSED_CHARS).collect::<String>().trim_end().to_owned()
}

/// A text as the engine sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// The normalised text.
    pub normalised: String,
    /// Encoded terms (see [`encode`]) with their counts, sorted by term.
    pub terms: Vec<(String, u16)>,
    /// Content words in order of appearance, without repeats, for showing shared key terms.
    pub words: Vec<String>,
    /// Numbers mentioned (digits, without the ubiquitous 1), sorted, without repeats; a masked number
    /// is `#`.
    pub numbers: Vec<String>,
    /// What it asks ([`intent`] bits).
    pub intents: u16,
    /// Whether it contains a negation.
    pub negated: bool,
    /// Length of the normalised text in characters, breaks excluded.
    pub length: u32,
}

impl Analysis {
    /// Whether nothing comparable was found (an empty or punctuation-only text).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.numbers.is_empty()
    }
}

/// Analyses a text (see the module documentation).
pub fn analyse(raw: &str) -> Analysis {
    let normalised = normalise(raw);
    let mut counts: HashMap<String, u16> = HashMap::new();
    let mut bump = |term: String| {
        let n = counts.entry(term).or_insert(0);
        *n = n.saturating_add(1);
    };
    let stop = stop_words();
    let synonyms = synonym_index();
    let mut words: Vec<String> = Vec::new();
    let mut numbers: Vec<String> = Vec::new();
    let mut negated = false;

    for token in jieba().tag(&normalised, true) {
        let word = token.word;
        if word.trim().is_empty() {
            continue;
        }
        if word.chars().all(|c| c.is_ascii_digit() || c == '.') || word.chars().all(|c| c == MASK) {
            if word != "1" {
                numbers.push(word.to_owned());
            }
            continue;
        }
        if negates(word) {
            negated = true;
        }
        if stop.contains(word) || is_function_tag(token.tag) {
            continue;
        }
        bump(encode(TermKind::Word, word));
        if let Some(class) = synonyms.get(word) {
            bump(encode(TermKind::Synonym, class));
        }
        for c in word.chars().filter(|&c| is_cjk(c)) {
            bump(encode(TermKind::Char, c.encode_utf8(&mut [0; 4])));
        }
        if !words.iter().any(|w| w == word) {
            words.push(word.to_owned());
        }
    }
    let chars: Vec<char> = normalised.chars().collect();
    let mut length = 0u32;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            continue;
        }
        length += 1;
        if let Some(&next) = chars.get(i + 1).filter(|&&n| n != ' ') {
            let both_digits = c.is_ascii_digit() && next.is_ascii_digit();
            if !both_digits && (is_cjk(c) || is_cjk(next)) {
                let mut b = String::with_capacity(8);
                b.push(c);
                b.push(next);
                bump(encode(TermKind::Bigram, &b));
            }
        }
    }
    let mut intents = 0u16;
    let mut rest = normalised.replace(' ', "");
    for (phrase, bits) in INTENT_PHRASES {
        if rest.contains(phrase) {
            intents |= bits;
            rest = rest.replace(phrase, " ");
        }
    }
    numbers.sort();
    numbers.dedup();
    let mut terms: Vec<(String, u16)> = counts.into_iter().collect();
    terms.sort();
    Analysis { normalised, terms, words, numbers, intents, negated, length }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(a: &Analysis, kind: TermKind, text: &str) -> bool {
        let t = encode(kind, text);
        a.terms.iter().any(|(term, _)| *term == t)
    }

    #[test]
    fn normalisation_folds_width_case_variants_and_punctuation() {
        assert_eq!(normalise("ＡＢＣ１２３，贷款！"), "abc123 贷款");
        assert_eq!(normalise("貸款利率　太高"), "贷款利率 太高");
        assert_eq!(normalise("借呗还款***元，为什么"), "借呗还款#元 为什么");
        assert_eq!(normalise("补贴1,000元，利率2.5%"), "补贴1000元 利率2.5");
        assert_eq!(normalise("…《》【】"), "");
    }

    #[test]
    fn numerals_before_measure_words_become_digits() {
        assert_eq!(normalise("给我三天时间"), "给我3天时间");
        assert_eq!(normalise("两个码头"), "2个码头");
        assert_eq!(normalise("二十五家企业"), "25家企业");
        assert_eq!(normalise("一下子一直"), "一下子一直");
        assert_eq!(normalise("一个问题"), "一个问题");
        assert_eq!(chinese_numeral(&"三百五十".chars().collect::<Vec<_>>()), Some(350));
        assert_eq!(chinese_numeral(&"十五".chars().collect::<Vec<_>>()), Some(15));
        assert_eq!(chinese_numeral(&"一万二千".chars().collect::<Vec<_>>()), Some(12_000));
        assert_eq!(chinese_numeral(&"三三".chars().collect::<Vec<_>>()), None);
    }

    #[test]
    fn analysis_finds_words_synonyms_bigrams_numbers_and_intents() {
        let a = analyse("渔船抵押贷款利率高，审批慢，3号码头为什么还没修？");
        assert!(has(&a, TermKind::Word, "贷款"));
        assert!(has(&a, TermKind::Synonym, "贷款"));
        assert!(has(&a, TermKind::Synonym, "审批"));
        assert!(has(&a, TermKind::Bigram, "渔船"));
        assert!(has(&a, TermKind::Char, "渔"));
        assert!(!has(&a, TermKind::Word, "为什么"), "question words are not content");
        assert_eq!(a.numbers, ["3"]);
        assert_ne!(a.intents & intent::WHY, 0);
        assert!(a.negated);
        let b = analyse("融资成本偏高");
        assert!(has(&b, TermKind::Synonym, "贷款"), "融资 and 贷款 share a class");
        assert!(a.words.contains(&"贷款".to_owned()));
    }

    #[test]
    fn empty_and_symbol_only_texts_have_no_terms() {
        assert!(analyse("").is_empty());
        assert!(analyse("！？。，").is_empty());
        assert!(!analyse("a").is_empty());
    }

    #[test]
    fn very_long_texts_are_cut() {
        let long = "融资难".repeat(1000);
        assert!(normalise(&long).chars().count() <= MAX_ANALYSED_CHARS);
    }
}
