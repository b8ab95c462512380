//! What the demonstration programme is made of: a seeded random source, valid credit codes, names of
//! enterprises, units and people, and the Chinese texts of demands, sessions and reports, modelled on the
//! seed article about 舟山市政协's 听见舟商 platform.

/// A small seeded pseudo-random source (splitmix64): the same seed gives the same programme.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A source started at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x7469_6e67_6a69_616e)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1).max(1) as u64) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// An index drawn with the given weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// Splits `total` into `parts` positive amounts that add up to it exactly.
    pub fn split(&mut self, total: i64, parts: usize) -> Vec<i64> {
        let weights: Vec<i64> = (0..parts).map(|_| self.between(5, 20)).collect();
        let sum: i64 = weights.iter().sum();
        let mut amounts: Vec<i64> = weights.iter().map(|w| total * w / sum).collect();
        let rest = total - amounts.iter().sum::<i64>();
        amounts[0] += rest;
        amounts
    }
}

/// Characters of a unified social credit code in value order (GB 32100-2015).
const CODE_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A valid unified social credit code (统一社会信用代码) of a company registered in 舟山 (330900): market
/// regulation authority "9", enterprise type "1", an organisation code with its GB 11714 check
/// character, and the GB 32100 check character.
pub fn credit_code(n: u64) -> String {
    let body = format!("{:08}", 31_000_000 + n * 7_919 % 60_000_000);
    let org_weights = [3u32, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(org_weights).map(|(c, w)| u32::from(c - b'0') * w).sum();
    let org_check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from(b'0' + d as u8),
    };
    let first17 = format!("91330900{body}{org_check}");
    let weights: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let value = |c: u8| CODE_CHARS.iter().position(|&x| x == c).unwrap_or(0) as u32;
    let sum: u32 = first17.bytes().zip(weights).map(|(c, w)| value(c) * w).sum();
    let check = char::from(CODE_CHARS[((31 - sum % 31) % 31) as usize]);
    format!("{first17}{check}")
}

/// Districts of 舟山 (intake reference codes) with the place words used in names.
pub const DISTRICTS: [(&str, &str); 5] =
    [("dinghai", "定海"), ("putuo", "普陀"), ("daishan", "岱山"), ("shengsi", "嵊泗"), ("xincheng", "新城")];

/// Industries (intake reference codes) with the business words used in names.
pub const INDUSTRIES: [(&str, &str); 8] = [
    ("advanced_manufacturing", "精密机械制造"),
    ("catering_trade", "餐饮商贸"),
    ("ocean_fishing", "远洋渔业"),
    ("port_logistics", "港航物流"),
    ("tourism", "海岛旅游开发"),
    ("shipbuilding", "船舶修造"),
    ("petrochemical", "绿色石化"),
    ("aquatic_processing", "水产食品"),
];

/// Trade-name words of the generated enterprises.
pub const TRADE_NAMES: [&str; 24] = [
    "海通",
    "东极",
    "金塘",
    "普安",
    "明珠",
    "蓝海",
    "桃花",
    "朱家尖",
    "鑫达",
    "恒丰",
    "长峙",
    "嘉和",
    "远航",
    "六横",
    "衢山",
    "华舟",
    "泰和",
    "浪岗",
    "海星",
    "白沙",
    "虾峙",
    "中澳",
    "宏远",
    "东港",
];

/// A demand category (诉求类别): its intake code, its Chinese name, its weight among demands and the
/// handling unit that answers it.
#[derive(Debug, Clone, Copy)]
pub struct Category {
    /// Intake reference code.
    pub code: &'static str,
    /// Chinese name.
    pub name: &'static str,
    /// Relative frequency among demands.
    pub weight: u32,
    /// Index into [`UNITS`].
    pub unit: usize,
}

/// The categories, weighted like the seed: finance, logistics and patents first.
pub const CATEGORIES: [Category; 10] = [
    Category { code: "finance_credit", name: "金融信贷", weight: 22, unit: 0 },
    Category { code: "logistics", name: "物流运输", weight: 18, unit: 1 },
    Category { code: "patent", name: "专利申请", weight: 15, unit: 2 },
    Category { code: "approval", name: "审批", weight: 10, unit: 3 },
    Category { code: "subsidy", name: "补助", weight: 8, unit: 4 },
    Category { code: "talent", name: "人才", weight: 7, unit: 5 },
    Category { code: "land", name: "用地", weight: 6, unit: 6 },
    Category { code: "project_award", name: "项目奖励", weight: 5, unit: 4 },
    Category { code: "labour", name: "劳动用工", weight: 5, unit: 5 },
    Category { code: "policy", name: "惠企政策兑现", weight: 4, unit: 7 },
];

/// Handling units (承办单位): organisation id, name, and the head who answers for cases (一把手).
pub const UNITS: [(&str, &str, &str, &str); 8] = [
    ("zs-jrb", "舟山市人民政府金融工作办公室", "陈立新", "主任"),
    ("zs-jtj", "舟山市交通运输局", "王海平", "局长"),
    ("zs-scjgj", "舟山市市场监督管理局", "李志强", "局长"),
    ("zs-spj", "舟山市行政审批服务局", "周建华", "局长"),
    ("zs-jxj", "舟山市经济和信息化局", "徐国栋", "局长"),
    ("zs-rsj", "舟山市人力资源和社会保障局", "张卫东", "局长"),
    ("zs-zrzyj", "舟山市自然资源和规划局", "吴永明", "局长"),
    ("zs-fgw", "舟山市发展和改革委员会", "郑晓峰", "主任"),
];

/// Title templates of demands per category (index as [`CATEGORIES`]); `{e}` is the enterprise's short
/// name.
pub const DEMAND_TITLES: [&[&str]; 10] = [
    &[
        "远洋渔业企业综合融资成本偏高",
        "流动资金贷款续贷难、转贷周期长",
        "中小企业信用贷款额度不足",
        "船舶抵押融资评估价值偏低",
        "供应链金融产品覆盖面窄",
    ],
    &["港口集装箱短驳费用高", "冷链物流运力不足影响水产品外运", "海岛货运航线班次少", "危化品运输车辆通行受限"],
    &["专利申请名额紧张", "发明专利审查周期长", "知识产权质押融资渠道少", "高价值专利培育缺乏指导"],
    &["复工复产审批环节多", "项目环评审批时间长", "施工许可办理材料重复提交", "涉海工程审批流程不畅"],
    &["技改补助申报流程复杂", "稳岗补贴到账慢", "首台套补助政策知晓度低"],
    &["高技能人才引进难", "技术工人住房保障不足", "人才子女入学政策不明确"],
    &["工业用地指标紧张", "标准厂房租金偏高", "临港产业用地配套不完善"],
    &["项目奖励申请审核周期长", "市级项目奖励兑现滞后"],
    &["一线工人招聘难", "劳动合同规范管理缺乏指导", "劳动纠纷调处周期长"],
    &["惠企政策兑现平台操作不便", "政策兑现材料要求不统一"],
];

/// Sentences that complete a demand's text.
pub const DEMAND_DETAILS: [&str; 6] = [
    "企业反映该问题已持续较长时间，影响正常生产经营，希望有关部门协调解决。",
    "近期订单增加，该问题更加突出，企业希望尽快得到政策支持。",
    "同类企业普遍存在类似情况，建议从制度层面统筹解决。",
    "企业曾多次向有关部门反映，目前尚未得到明确答复。",
    "该问题制约企业扩大产能和技术改造，企业负责人希望面对面沟通。",
    "企业希望了解相关政策的具体适用条件和办理流程。",
];

/// Policies briefed in contacts (宣讲的助企惠企政策).
pub const POLICIES: [&str; 8] = [
    "增值税留抵退税",
    "小微企业普惠性减税降费",
    "稳岗返还政策",
    "科技型中小企业研发费用加计扣除",
    "市企业综合服务中心“一个门户办”",
    "首台（套）装备保险补偿",
    "远洋渔业企业贷款贴息",
    "高技能人才引进奖励",
];

/// Consultation topics: title, format (1 face-to-face, 2 interactive, 3 online), the answering
/// leader's title, and the venue.
pub const TOPICS: [(&str, i32, &str, &str); 14] = [
    ("推进临港先进制造业高质量发展", 1, "市委书记", "舟山市行政中心会议室"),
    ("强化企业职工薪酬监管", 1, "市长", "舟山市行政中心会议室"),
    ("提升市企业综合服务中心知晓度", 2, "副市长", "舟山总商会政协委员会客厅"),
    ("破解中小企业融资难融资贵", 2, "副市长", "舟山总商会政协委员会客厅"),
    ("优化港航物流营商环境", 2, "副市长", "民生议事堂"),
    ("助力改善和优化我市旅游环境", 3, "副市长", ""),
    ("推动远洋渔业转型升级", 2, "副市长", "民生议事堂"),
    ("学习贯彻两会精神，助推民营经济发展", 1, "市委书记", "舟山总商会政协委员会客厅"),
    ("加快发展新质生产力", 1, "市长", "舟山市行政中心会议室"),
    ("优化惠企政策兑现机制", 2, "副市长", "舟山总商会政协委员会客厅"),
    ("加强知识产权保护和运用", 2, "副市长", "民生议事堂"),
    ("破解企业用工难题", 2, "副市长", "民生议事堂"),
    ("优化工业用地供给", 2, "副市长", "舟山总商会政协委员会客厅"),
    ("提升海岛物流效率", 2, "副市长", "民生议事堂"),
];

/// Titles of the 18 special reports (专报); the first two are the seed's.
pub const REPORT_TITLES: [&str; 18] = [
    "金融信贷需求弱化，我市实体经济高质量发展面临困境亟须引起重视",
    "关于优化我市惠企政策兑现平台的几点建议",
    "关于降低远洋渔业企业综合融资成本的建议",
    "关于破解海岛冷链物流瓶颈的建议",
    "关于提升专利申请服务水平的建议",
    "关于简化复工复产审批流程的建议",
    "关于加快兑现项目奖励资金的建议",
    "关于完善高技能人才住房保障的建议",
    "关于盘活存量工业用地的建议",
    "关于规范劳动合同管理的建议",
    "关于提升市企业综合服务中心知晓度的建议",
    "关于发展供应链金融支持中小企业的建议",
    "关于优化港口集装箱短驳收费的建议",
    "关于加强知识产权质押融资的建议",
    "关于推动船舶修造业转型升级的建议",
    "关于优化海岛旅游环境的建议",
    "关于强化企业职工薪酬监管的建议",
    "关于加快发展新质生产力的建议",
];

/// Texts of campaign posts (建言).
pub const POST_TEXTS: [&str; 10] = [
    "建议进一步简化企业开办和项目审批流程，推行“一件事”集成办理。",
    "希望加大对中小微企业的信贷支持，推广信用贷款和续贷无还本。",
    "建议完善海岛物流体系，降低企业运输成本。",
    "建议政府部门定期走访企业，及时回应企业诉求。",
    "希望惠企政策能够免申即享，减少企业重复提交材料。",
    "建议加强对民营企业知识产权的保护，提高侵权成本。",
    "建议加大高技能人才引进和培养力度，完善配套服务。",
    "希望进一步优化旅游市场秩序，提升游客体验。",
    "建议为民营企业搭建更多政企沟通平台。",
    "建议加快兑现各类项目奖励资金，缓解企业资金压力。",
];

/// Surnames for display names.
pub const SURNAMES: [&str; 16] =
    ["王", "李", "张", "陈", "刘", "周", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"];
