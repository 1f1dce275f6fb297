/**
 * Name pools for the synthetic directory: common US given names and surnames (a broad mix of origins, so
 * name searches meet accents-free prefixes, hyphen-free short and long names), street names, and the
 * invented words used to build organisation names. Every organisation name is fictitious; no brand names.
 */

export const FEMALE_GIVEN: readonly string[] = [
  'Mary', 'Patricia', 'Jennifer', 'Linda', 'Elizabeth', 'Barbara', 'Susan', 'Jessica', 'Sarah', 'Karen',
  'Lisa', 'Nancy', 'Betty', 'Sandra', 'Margaret', 'Ashley', 'Kimberly', 'Emily', 'Donna', 'Michelle',
  'Carol', 'Amanda', 'Melissa', 'Deborah', 'Stephanie', 'Rebecca', 'Sharon', 'Laura', 'Cynthia', 'Amy',
  'Kathleen', 'Angela', 'Shirley', 'Brenda', 'Emma', 'Anna', 'Pamela', 'Nicole', 'Samantha', 'Katherine',
  'Christine', 'Helen', 'Debra', 'Rachel', 'Carolyn', 'Janet', 'Maria', 'Catherine', 'Heather', 'Diane',
  'Olivia', 'Julie', 'Joyce', 'Victoria', 'Ruth', 'Virginia', 'Lauren', 'Kelly', 'Christina', 'Joan',
  'Evelyn', 'Judith', 'Andrea', 'Hannah', 'Megan', 'Cheryl', 'Jacqueline', 'Martha', 'Madison', 'Teresa',
  'Gloria', 'Sara', 'Janice', 'Ann', 'Kathryn', 'Abigail', 'Sophia', 'Frances', 'Jean', 'Alice',
  'Judy', 'Isabella', 'Julia', 'Grace', 'Amber', 'Denise', 'Danielle', 'Marilyn', 'Beverly', 'Charlotte',
  'Natalie', 'Theresa', 'Diana', 'Brittany', 'Doris', 'Kayla', 'Alexis', 'Lori', 'Priya', 'Mei',
  'Aisha', 'Fatima', 'Lucia', 'Carmen', 'Rosa', 'Ana', 'Sofia', 'Camila', 'Valeria', 'Ximena',
  'Yuki', 'Hana', 'Min-ji', 'Ji-woo', 'Linh', 'Thu', 'Ngoc', 'Anjali', 'Deepa', 'Kavya',
  'Nadia', 'Leila', 'Amara', 'Zainab', 'Chiamaka', 'Imani', 'Keisha', 'Tamika', 'Ebony', 'Aaliyah',
  'Ingrid', 'Astrid', 'Katya', 'Olga', 'Irina', 'Magdalena', 'Agnieszka', 'Giulia', 'Francesca', 'Chloe',
];

export const MALE_GIVEN: readonly string[] = [
  'James', 'Robert', 'John', 'Michael', 'David', 'William', 'Richard', 'Joseph', 'Thomas', 'Christopher',
  'Charles', 'Daniel', 'Matthew', 'Anthony', 'Mark', 'Donald', 'Steven', 'Andrew', 'Paul', 'Joshua',
  'Kenneth', 'Kevin', 'Brian', 'George', 'Timothy', 'Ronald', 'Jason', 'Edward', 'Jeffrey', 'Ryan',
  'Jacob', 'Gary', 'Nicholas', 'Eric', 'Jonathan', 'Stephen', 'Larry', 'Justin', 'Scott', 'Brandon',
  'Benjamin', 'Samuel', 'Gregory', 'Alexander', 'Patrick', 'Frank', 'Raymond', 'Jack', 'Dennis', 'Jerry',
  'Tyler', 'Aaron', 'Jose', 'Adam', 'Nathan', 'Henry', 'Zachary', 'Douglas', 'Peter', 'Kyle',
  'Noah', 'Ethan', 'Jeremy', 'Walter', 'Christian', 'Keith', 'Roger', 'Terry', 'Austin', 'Sean',
  'Gerald', 'Carl', 'Harold', 'Dylan', 'Arthur', 'Lawrence', 'Jordan', 'Jesse', 'Bryan', 'Billy',
  'Bruce', 'Gabriel', 'Joe', 'Logan', 'Alan', 'Juan', 'Albert', 'Willie', 'Elijah', 'Wayne',
  'Randy', 'Vincent', 'Mason', 'Roy', 'Ralph', 'Bobby', 'Russell', 'Bradley', 'Philip', 'Eugene',
  'Carlos', 'Luis', 'Miguel', 'Alejandro', 'Diego', 'Javier', 'Rafael', 'Mateo', 'Santiago', 'Eduardo',
  'Hiroshi', 'Kenji', 'Takeshi', 'Min-jun', 'Seo-jun', 'Minh', 'Duc', 'Quang', 'Wei', 'Jian',
  'Rahul', 'Arjun', 'Vikram', 'Sanjay', 'Amit', 'Omar', 'Ahmed', 'Hassan', 'Karim', 'Yusuf',
  'Kwame', 'Chinedu', 'Tunde', 'Malik', 'Darnell', 'Andre', 'Lars', 'Sven', 'Dmitri', 'Pavel',
  'Tomasz', 'Piotr', 'Marco', 'Luca', 'Giovanni', 'Pierre', 'Louis', 'Mohammed', 'Ali', 'Ravi',
];

export const SURNAMES: readonly string[] = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts',
  'Gomez', 'Phillips', 'Evans', 'Turner', 'Diaz', 'Parker', 'Cruz', 'Edwards', 'Collins', 'Reyes',
  'Stewart', 'Morris', 'Morales', 'Murphy', 'Cook', 'Rogers', 'Gutierrez', 'Ortiz', 'Morgan', 'Cooper',
  'Peterson', 'Bailey', 'Reed', 'Kelly', 'Howard', 'Ramos', 'Kim', 'Cox', 'Ward', 'Richardson',
  'Watson', 'Brooks', 'Chavez', 'Wood', 'James', 'Bennett', 'Gray', 'Mendoza', 'Ruiz', 'Hughes',
  'Price', 'Alvarez', 'Castillo', 'Sanders', 'Patel', 'Myers', 'Long', 'Ross', 'Foster', 'Jimenez',
  'Powell', 'Jenkins', 'Perry', 'Russell', 'Sullivan', 'Bell', 'Coleman', 'Butler', 'Henderson', 'Barnes',
  'Gonzales', 'Fisher', 'Vasquez', 'Simmons', 'Romero', 'Jordan', 'Patterson', 'Alexander', 'Hamilton', 'Graham',
  'Reynolds', 'Griffin', 'Wallace', 'Moreno', 'West', 'Cole', 'Hayes', 'Bryant', 'Herrera', 'Gibson',
  'Ellis', 'Tran', 'Medina', 'Aguilar', 'Stevens', 'Murray', 'Ford', 'Castro', 'Marshall', 'Owens',
  'Harrison', 'Fernandez', 'McDonald', 'Woods', 'Washington', 'Kennedy', 'Wells', 'Vargas', 'Henry', 'Chen',
  'Freeman', 'Webb', 'Tucker', 'Guzman', 'Burns', 'Crawford', 'Olson', 'Simpson', 'Porter', 'Hunter',
  'Gordon', 'Mendez', 'Silva', 'Shaw', 'Snyder', 'Mason', 'Dixon', 'Munoz', 'Hunt', 'Hicks',
  'Holmes', 'Palmer', 'Wagner', 'Black', 'Robertson', 'Boyd', 'Rose', 'Stone', 'Salazar', 'Fox',
  'Warren', 'Mills', 'Meyer', 'Rice', 'Schmidt', 'Garza', 'Daniels', 'Ferguson', 'Nichols', 'Stephens',
  'Soto', 'Weaver', 'Ryan', 'Gardner', 'Payne', 'Grant', 'Dunn', 'Kelley', 'Spencer', 'Hawkins',
  'Wang', 'Li', 'Zhang', 'Liu', 'Huang', 'Wu', 'Zhou', 'Park', 'Choi', 'Jung',
  'Pham', 'Le', 'Hoang', 'Vu', 'Tanaka', 'Suzuki', 'Yamamoto', 'Nakamura', 'Shah', 'Singh',
  'Kumar', 'Sharma', 'Gupta', 'Reddy', 'Iyer', 'Khan', 'Ali', 'Hussain', 'Rahman', 'Haddad',
  'Okafor', 'Adeyemi', 'Mensah', 'Okonkwo', 'Kowalski', 'Nowak', 'Novak', 'Ivanov', 'Petrov', 'Rossi',
  'Russo', 'Romano', 'Esposito', 'Muller', 'Schneider', 'Fischer', 'Weber', 'Becker', 'Larsen', 'Johansson',
  "O'Brien", "O'Connor", 'McCarthy', 'Gallagher', 'Fitzgerald', 'Dubois', 'Laurent', 'Leblanc', 'Cohen', 'Levy',
];

export const STREET_NAMES: readonly string[] = [
  'Main', 'Oak', 'Maple', 'Pine', 'Cedar', 'Elm', 'Washington', 'Lake', 'Hill', 'Park',
  'Walnut', 'Chestnut', 'Spruce', 'Sunset', 'Highland', 'Jefferson', 'Lincoln', 'Madison', 'Franklin', 'Church',
  'Center', 'Market', 'Union', 'Broad', 'Water', 'River', 'Spring', 'Mill', 'Prospect', 'Meadow',
  'Forest', 'Ridge', 'Valley', 'College', 'University', 'Hospital', 'Medical Center', 'Commerce', 'Liberty', 'Jackson',
  'Adams', 'Monroe', 'Grant', 'Willow', 'Birch', 'Hickory', 'Sycamore', 'Magnolia', 'Dogwood', 'Laurel',
  'Airport', 'Railroad', 'Industrial', 'Grove', 'Orchard', 'Harbor', 'Bay', 'Fairview', 'Pleasant', 'Woodland',
];

export const STREET_SUFFIXES: readonly string[] = [
  'Street', 'Avenue', 'Road', 'Boulevard', 'Drive', 'Lane', 'Way', 'Parkway', 'Court', 'Place',
];

export const SUITE_PREFIXES: readonly string[] = ['Suite', 'Suite', 'Suite', 'Floor', 'Building'];

/** Invented, place-neutral words for organisation names (no real brands). */
export const NAME_WORDS: readonly string[] = [
  'Riverside', 'Lakeview', 'Summit', 'Oak Valley', 'Cedar Ridge', 'Pinecrest', 'Harborview', 'Meadowbrook',
  'Stonebridge', 'Evergreen', 'Willow Creek', 'Silver Lake', 'Northfield', 'Southgate', 'Eastwood', 'Westbrook',
  'Clearwater', 'Highland', 'Bayside', 'Fairhaven', 'Maplewood', 'Sunrise', 'Blue Sky', 'Golden Valley',
  'Heritage', 'Liberty', 'Pioneer', 'Prairie', 'Red Rock', 'Sandstone', 'Spring Hill', 'Timberline',
];

export const PHARMACY_BRANDS: readonly string[] = [
  'Corner Apothecary', 'Wellway Pharmacy', 'Bluebird Drug', 'Hometown Pharmacy', 'CareFirst Rx', 'Main Street Drug',
  'Neighborhood Pharmacy', 'Family Rx', 'Compass Pharmacy', 'Lighthouse Pharmacy',
];

export const PAYER_NAMES: readonly string[] = [
  'Evergreen Mutual Health Plan', 'Summit Health Plan', 'Harborview Health Insurance', 'Prairie Care Health Plan',
  'Northstar Health Alliance', 'Blue Heron Health Plan', 'Keystone Valley Health', 'Pacific Crest Health Plan',
];

/** BCP-47 languages practitioners may speak besides English, with rough weights (US prevalence). */
export const LANGUAGES: readonly { code: string; display: string; weight: number }[] = [
  { code: 'es', display: 'Spanish', weight: 40 },
  { code: 'zh', display: 'Chinese', weight: 6 },
  { code: 'vi', display: 'Vietnamese', weight: 4 },
  { code: 'tl', display: 'Tagalog', weight: 4 },
  { code: 'ar', display: 'Arabic', weight: 3 },
  { code: 'ko', display: 'Korean', weight: 3 },
  { code: 'ru', display: 'Russian', weight: 3 },
  { code: 'fr', display: 'French', weight: 3 },
  { code: 'hi', display: 'Hindi', weight: 3 },
  { code: 'pt', display: 'Portuguese', weight: 2 },
  { code: 'de', display: 'German', weight: 2 },
  { code: 'pl', display: 'Polish', weight: 1 },
  { code: 'it', display: 'Italian', weight: 1 },
  { code: 'ja', display: 'Japanese', weight: 1 },
  { code: 'ur', display: 'Urdu', weight: 1 },
  { code: 'ht', display: 'Haitian', weight: 1 },
];
